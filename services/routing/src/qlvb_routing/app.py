"""Composition root of the routing service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from qlvb_chassis.calendar import load_calendar
from qlvb_chassis.http.auth import TokenVerifier
from qlvb_chassis.idempotency import IdempotencyKeys
from qlvb_chassis.service import ServiceRuntime
from qlvb_contracts.registry import IDENTITY_EVENTS, INTAKE_DOCUMENTS, ISSUANCE_DOCUMENTS
from qlvb_routing.adapters import orm
from qlvb_routing.entrypoints import consumers, http
from qlvb_routing.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None, verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        tables=orm.chassis,
        migrations=MIGRATIONS,
        bucket="qlvb-routing",
        verifier=verifier,
    )
    calendar = load_calendar(settings.calendar_file)
    runtime.consume(
        INTAKE_DOCUMENTS,
        handler=consumers.on_incoming_document(calendar, settings.due_working_days),
    )
    runtime.consume(ISSUANCE_DOCUMENTS, handler=consumers.on_outgoing_document)
    runtime.consume(IDENTITY_EVENTS, handler=consumers.on_identity_event)
    app = runtime.create_app(
        title="QLVB routing",
        description="Handling cases, tasks, drafts and approvals, work files (hồ sơ công việc).",
        routers=http.ROUTERS,
    )
    http.install(app, http.Context(runtime, settings, calendar, IdempotencyKeys(orm.chassis)))
    return app
