"""Liveness, readiness and Prometheus metrics endpoints (ARCHITECTURE §3.8, §6).

``/healthz`` answers 200 while the event loop runs: restart the process only when it stops.
``/readyz`` runs the service's checks (database, broker, object store, …) concurrently, each with
a timeout: 200 when all pass, otherwise a 503 problem naming what failed and why, so the load
balancer stops routing to the copy until the part comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.responses import Response

from qlvb_chassis.http.problems import Problem, problem_responses

__all__ = ["HealthCheck", "health_router", "metrics_endpoint", "run_checks"]

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[None]]
"""A readiness check: returns when the part works, raises (anything) when it does not."""

OK = "ok"
_NO_STORE = {"Cache-Control": "no-store"}
_MAX_REASON = 300


async def _run_one(check: HealthCheck, limit: float) -> str:
    try:
        async with asyncio.timeout(limit) as deadline:
            await check()
    except TimeoutError as exc:
        if deadline.expired():
            return f"timed out after {limit:g} s"
        return _describe(exc)
    except Exception as exc:
        return _describe(exc)
    return OK


def _describe(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_MAX_REASON]


async def run_checks(checks: Mapping[str, HealthCheck], *, limit: float) -> dict[str, str]:
    """Every check's outcome by name, ``"ok"`` or why it failed; each gets ``limit`` seconds."""
    names = list(checks)
    outcomes = await asyncio.gather(*(_run_one(checks[name], limit) for name in names))
    return dict(zip(names, outcomes, strict=True))


def health_router(
    checks: Mapping[str, HealthCheck] | None = None,
    *,
    timeout: float = 2.0,
) -> APIRouter:
    """A router with ``GET /healthz`` and ``GET /readyz`` running ``checks`` with ``timeout``."""
    registered = dict(checks or {})
    # Logged on change only: probes call /readyz every few seconds.
    last_outcome: dict[str, str] = {}
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "alive"}, headers=_NO_STORE)

    @router.get(
        "/readyz",
        summary="The service can reach everything it needs",
        responses=problem_responses(503),
    )
    async def readyz() -> Response:
        outcomes = await run_checks(registered, limit=timeout)
        for name, outcome in outcomes.items():
            previous = last_outcome.get(name, OK)
            if outcome != OK and previous == OK:
                logger.warning("readiness check %s failed: %s", name, outcome)
            elif outcome == OK and previous != OK:
                logger.info("readiness check %s recovered", name)
            last_outcome[name] = outcome
        failed = sorted(name for name, outcome in outcomes.items() if outcome != OK)
        if not failed:
            return JSONResponse({"status": "ready", "checks": outcomes}, headers=_NO_STORE)
        return Problem(
            503,
            "Service not ready",
            f"Failing: {', '.join(failed)}",
            slug="not-ready",
            headers=_NO_STORE,
            checks=outcomes,
        ).to_response()

    return router


def metrics_endpoint(registry: CollectorRegistry | None = None) -> APIRouter:
    """A router with ``GET /metrics`` exposing ``registry`` (default: the global one)."""
    source = registry if registry is not None else REGISTRY
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        # Prometheus asks for OpenMetrics when it can; plain text format otherwise.
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(source), media_type=content_type, headers=_NO_STORE)

    return router
