"""A minimal service assembled with ServiceRuntime, run in-process on the real stack."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from qlvb_chassis.consumer import Delivery
from qlvb_chassis.db import UnitOfWork
from qlvb_chassis.service import ServiceRuntime

from .conftest import Env, ThingHappened

pytestmark = pytest.mark.stack


async def test_runtime_serves_health_metrics_asyncapi_and_moves_events(env: Env) -> None:
    settings = env.settings.model_copy(
        update={"database_schema": env.schema, "service_name": "test"}
    )
    # The test registry names "test" as producer and consumer of the test topic.
    runtime = ServiceRuntime(settings, tables=env.tables, registry=env.registry)

    async def on_thing(delivery: Delivery, uow: UnitOfWork) -> None:
        assert isinstance(delivery.payload, ThingHappened)
        await uow.session.execute(
            env.effects.insert().values(thing_id=delivery.payload.thing_id, n=delivery.payload.n)
        )

    runtime.consume(env.topic, group_id="g-runtime", handler=on_thing)
    app = runtime.create_app(title="test service")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            assert (await client.get("/healthz")).status_code == 200
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ready = await client.get("/readyz")
                if ready.status_code == 200:
                    break
                await asyncio.sleep(0.3)
            assert ready.status_code == 200, ready.text

            # An effect whose event goes out through the outbox and comes back to the consumer.
            async with runtime.db.uow() as uow:
                await uow.publish(env.topic, ThingHappened(thing_id="loop", n=1))
                await uow.commit()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not await env.effect_rows():
                await asyncio.sleep(0.2)
            assert await env.effect_rows() == [("loop", 1)]

            metrics = (await client.get("/metrics")).text
            assert "qlvb_outbox_published_total" in metrics
            assert "qlvb_consumer_messages_total{" in metrics
            assert 'group="g-runtime"' in metrics
            assert "faststream_received_messages_total" in metrics

            spec = (await client.get("/asyncapi.json")).json()
            channels = " ".join(spec["channels"])
            assert env.topic in channels

            missing = await client.get("/no-such-route")
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("application/problem+json")
