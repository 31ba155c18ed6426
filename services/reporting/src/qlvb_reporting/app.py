"""Composition root of the reporting service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from qlvb_chassis.calendar import WorkingCalendar, load_calendar
from qlvb_chassis.http.auth import TokenVerifier
from qlvb_chassis.service import ServiceRuntime
from qlvb_reporting import metrics
from qlvb_reporting.adapters import orm
from qlvb_reporting.entrypoints import http
from qlvb_reporting.entrypoints.consumers import register_consumers
from qlvb_reporting.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: Settings | None = None,
    verifier: TokenVerifier | None = None,
    calendar: WorkingCalendar | None = None,
) -> FastAPI:
    settings = settings or Settings()
    # No bucket: exports are rendered on request and streamed, never stored.
    runtime = ServiceRuntime(settings, tables=orm.chassis, migrations=MIGRATIONS, verifier=verifier)
    register_consumers(runtime, settings.consumer_group)
    runtime.background(
        "business-gauges", lambda: metrics.refresh_forever(runtime.db, settings.metrics_refresh_s)
    )
    app = runtime.create_app(
        title="QLVB reporting",
        description="Monthly control report, registers, progress and search, built from events.",
        routers=[http.router, http.search_router],
    )
    app.state.reporting = http.Context(
        db=runtime.db,
        calendar=calendar or load_calendar(settings.calendar_file),
        settings=settings,
    )
    return app
