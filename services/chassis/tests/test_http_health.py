"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from qlvb_chassis.http.health import HealthCheck, health_router, metrics_endpoint
from qlvb_chassis.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers


async def database_ok() -> None:
    await asyncio.sleep(0)


async def broker_refuses() -> None:
    raise ConnectionRefusedError("broker at localhost:9092 refused the connection")


async def store_hangs() -> None:
    await asyncio.sleep(30)


def client_for(checks: Mapping[str, HealthCheck], *, timeout: float = 0.2) -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(health_router(checks, timeout=timeout))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://qlvb.test")


async def test_healthz_is_always_200() -> None:
    async with client_for({"broker": broker_refuses}) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_readyz_200_when_every_check_passes() -> None:
    async with client_for({"database": database_ok, "store": database_ok}) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "store": "ok"}}
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_503_problem_lists_failed_and_timed_out_checks() -> None:
    checks = {"database": database_ok, "broker": broker_refuses, "store": store_hangs}
    async with client_for(checks, timeout=0.2) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"] == "https://qlvb.example/problems/not-ready"
    assert body["status"] == 503
    assert body["detail"] == "Failing: broker, store"
    assert body["checks"] == {
        "database": "ok",
        "broker": "ConnectionRefusedError: broker at localhost:9092 refused the connection",
        "store": "timed out after 0.2 s",
    }


async def test_readyz_runs_checks_concurrently() -> None:
    async def slow() -> None:
        await asyncio.sleep(0.3)

    checks = {f"part-{n}": slow for n in range(5)}
    async with client_for(checks, timeout=2) as client:
        started = time.perf_counter()
        response = await client.get("/readyz")
        elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed < 1.2  # sequential would take 1.5 s


async def test_readyz_recovers_when_the_part_comes_back() -> None:
    broker_up = False

    async def broker() -> None:
        if not broker_up:
            raise ConnectionError("down")

    async with client_for({"broker": broker}) as client:
        assert (await client.get("/readyz")).status_code == 503
        broker_up = True
        assert (await client.get("/readyz")).status_code == 200


async def test_readyz_without_checks_is_ready() -> None:
    async with client_for({}) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {}}


async def test_metrics_serves_the_given_registry() -> None:
    registry = CollectorRegistry()
    registered = Counter(
        "qlvb_documents_registered", "Incoming documents registered", registry=registry
    )
    registered.inc(3)
    app = FastAPI()
    app.include_router(metrics_endpoint(registry))
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://qlvb.test") as client:
        text = await client.get("/metrics")
        openmetrics = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        schema = (await client.get("/openapi.json")).json()

    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert "qlvb_documents_registered_total 3.0" in text.text
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")
    assert "/metrics" not in schema["paths"]
