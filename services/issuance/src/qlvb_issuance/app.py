"""Composition root of the issuance service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import Response

from qlvb_chassis.http.auth import TokenVerifier
from qlvb_chassis.http.problems import Problem
from qlvb_chassis.idempotency import IdempotencyKeys
from qlvb_chassis.numbering import NumberAllocator
from qlvb_chassis.service import ServiceRuntime
from qlvb_contracts.registry import IDENTITY_EVENTS, REGISTRY, ROUTING_EVENTS
from qlvb_issuance.adapters import orm
from qlvb_issuance.domain.errors import Conflict, IssuanceError, NotFound
from qlvb_issuance.entrypoints import consumers, http
from qlvb_issuance.service_layer.handlers import Services
from qlvb_issuance.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
BUCKET = "qlvb-issuance"


def _problem(exc: IssuanceError) -> Problem:
    if isinstance(exc, NotFound):
        return Problem(404, "Not found", exc.detail, slug=exc.slug)
    if isinstance(exc, Conflict):
        return Problem(409, "Not possible in the document's state", exc.detail, slug=exc.slug)
    return Problem(422, "Request refused", exc.detail, slug=exc.slug)


async def _on_issuance_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, IssuanceError)
    return _problem(exc).to_response()


def create_app(settings: Settings | None = None, verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        tables=orm.chassis,
        migrations=MIGRATIONS,
        bucket=BUCKET,
        verifier=verifier,
    )
    # Consumer groups: the chassis default, one per topic under the test prefix.
    runtime.consume(
        ROUTING_EVENTS,
        handler=consumers.on_routing_event,
        decoder=consumers.routing_decoder(REGISTRY, settings.topic_prefix),
    )
    runtime.consume(IDENTITY_EVENTS, handler=consumers.on_identity_event)
    app = runtime.create_app(
        title="QLVB issuance",
        description="Outgoing registers, numbering and issuing of outgoing documents (văn bản đi).",
        routers=[http.registers, http.documents],
    )
    assert runtime.store is not None  # the bucket is given above
    app.state.issuance = Services(
        settings=settings,
        uow_factory=runtime.db.uow,
        numbers=NumberAllocator(orm.chassis),
        idempotency=IdempotencyKeys(orm.chassis),
        store=runtime.store,
        bucket=BUCKET,
    )
    app.add_exception_handler(IssuanceError, _on_issuance_error)
    return app
