"""Composition root of the reporting service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from qlvb_chassis.http.auth import TokenVerifier
from qlvb_chassis.service import ServiceRuntime
from qlvb_reporting.adapters import orm
from qlvb_reporting.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None, verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        tables=orm.chassis,
        migrations=MIGRATIONS,
        bucket="qlvb-reporting",
        verifier=verifier,
    )
    return runtime.create_app(title="QLVB reporting")
