"""Pytest fixtures for tests that need the real local stack (loaded with ``-p qlvb_stack.testing``).

``./qlvb test`` points QLVB_HOME and QLVB_PORT_BASE at a test stack of its own and brings it up;
run directly, pytest starts (or reuses) the stack those variables name.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from qlvb_stack.config import StackConfig
from qlvb_stack.stack import Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    """The running test stack (started here if ``./qlvb test`` did not)."""
    running = Stack(StackConfig.from_env())
    running.up(timeout=120)
    return running


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group, bucket and table names of one test."""
    return uuid.uuid4().hex[:10]


async def create_topics(bootstrap: str, prefix: str) -> list[str]:
    """Create every registry topic (and DLQ) under ``prefix``, for a test's isolated service."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from qlvb_contracts.registry import REGISTRY

    names = [(prefix + name, parts) for name, parts in REGISTRY.all_topic_names()]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.create_topics(
            [
                NewTopic(n, num_partitions=p, replication_factor=1)
                for n, p in names
                if n not in existing
            ]
        )
    finally:
        await admin.close()
    return [n for n, _ in names]


@dataclass(frozen=True)
class IsolatedService:
    """A service instance of one test module: its own schema and topic prefix on the stack."""

    schema: str
    prefix: str
    bootstrap: str
    settings: dict[str, Any]
    """Keyword arguments for the service's Settings; add or override what the test needs."""


@asynccontextmanager
async def isolated_service(stack: Stack, service: str) -> AsyncIterator[IsolatedService]:
    """A throwaway schema and topic prefix for ``service``, its S3 identity, and settings tuned
    for tests (fast polling, short backoff, two attempts before the DLQ); the schema is dropped
    afterwards."""
    import asyncpg

    unique = uuid.uuid4().hex[:10]
    schema, prefix = f"{service}_{unique}", f"t{unique}."
    admin_url = stack.cfg.database_url()
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'create schema "{schema}"')
    finally:
        await conn.close()
    bootstrap = stack.cfg.kafka_bootstrap
    await create_topics(bootstrap, prefix)
    env = stack.cfg.service_env(service)
    up = f"QLVB_{service.upper()}_"
    settings: dict[str, Any] = {
        "database_url": admin_url.replace("postgresql://", "postgresql+asyncpg://"),
        "database_schema": schema,
        "topic_prefix": prefix,
        "kafka_bootstrap": bootstrap,
        "s3_endpoint": env[up + "S3_ENDPOINT"],
        "s3_access_key": env[up + "S3_ACCESS_KEY"],
        "s3_secret_key": env[up + "S3_SECRET_KEY"],
        "outbox_poll_interval_s": 0.05,
        "consumer_backoff_base_s": 0.05,
        "consumer_max_attempts": 2,
        "log_json": False,
    }
    try:
        yield IsolatedService(schema, prefix, bootstrap, settings)
    finally:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'drop schema if exists "{schema}" cascade')
        finally:
            await conn.close()


@asynccontextmanager
async def serve_in_process(
    app: Any, base_url: str = "http://service", ready_timeout_s: float = 60
) -> AsyncIterator[Any]:
    """Run an ASGI app's lifespan in this process and give an httpx client once /readyz is 200."""
    import asyncio
    import time

    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            deadline = time.monotonic() + ready_timeout_s
            while (ready := await client.get("/readyz")).status_code != 200:
                if time.monotonic() > deadline:
                    raise AssertionError(f"not ready after {ready_timeout_s}s: {ready.text}")
                await asyncio.sleep(0.2)
            yield client
