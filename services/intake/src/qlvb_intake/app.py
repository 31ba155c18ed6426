"""Composition root of the intake service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from qlvb_chassis.calendar import load_calendar
from qlvb_chassis.http.auth import TokenVerifier
from qlvb_chassis.http.problems import Problem
from qlvb_chassis.idempotency import IdempotencyKeys
from qlvb_chassis.numbering import NumberAllocator
from qlvb_chassis.service import ServiceRuntime
from qlvb_contracts.registry import EXCHANGE_INBOUND, IDENTITY_EVENTS
from qlvb_intake.adapters import orm
from qlvb_intake.entrypoints.consumers import on_identity_event, on_inbound_package
from qlvb_intake.entrypoints.decoding import inbound_decoder
from qlvb_intake.entrypoints.http import build_router
from qlvb_intake.service_layer.context import Intake
from qlvb_intake.service_layer.errors import IntakeError
from qlvb_intake.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


async def _on_intake_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntakeError)
    return Problem(exc.status, exc.title, exc.detail, slug=exc.slug, **exc.extensions).to_response()


def create_app(settings: Settings | None = None, verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings, tables=orm.chassis, migrations=MIGRATIONS, bucket="qlvb-intake", verifier=verifier
    )
    assert runtime.store is not None
    ctx = Intake(
        settings=settings,
        db=runtime.db,
        store=runtime.store,
        calendar=load_calendar(settings.calendar_file),
        numbers=NumberAllocator(orm.chassis),
        keys=IdempotencyKeys(orm.chassis),
    )
    # Separate groups: one group subscribed to two topics from different members rebalances
    # badly, and each consumer's inbox rows are its own.
    runtime.consume(IDENTITY_EVENTS, group_id="intake.identity", handler=on_identity_event)
    runtime.consume(
        EXCHANGE_INBOUND,
        group_id="intake.exchange",
        handler=on_inbound_package(ctx),
        decoder=inbound_decoder(max_bytes=settings.inbound_max_bytes),
    )
    app = runtime.create_app(
        title="QLVB intake",
        description="Incoming documents: registers, paper registration, the electronic inbox.",
        routers=[build_router(ctx)],
    )
    app.add_exception_handler(IntakeError, _on_intake_error)
    app.state.intake = ctx
    return app
