"""An issuance service of its own for each test module, on the real stack.

Throwaway schema, unique topic prefix, fake tokens; HTTP over httpx.ASGITransport.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from qlvb_chassis.testing import FakeTokenIssuer
from qlvb_issuance.app import create_app
from qlvb_issuance.service_layer.handlers import Services
from qlvb_issuance.settings import Settings
from qlvb_stack.stack import Stack
from qlvb_stack.testing import create_topics

from .helpers import identity_events, produce


@dataclass
class Svc:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: FakeTokenIssuer
    settings: Settings
    prefix: str
    bootstrap: str
    schema: str
    admin_url: str

    @property
    def services(self) -> Services:
        services: Services = self.app.state.issuance
        return services

    def clerk(self, user: str = "vanthu", **kwargs: object) -> dict[str, str]:
        return self.tokens.headers(user, ["clerk"], unit="HCTC", **kwargs)

    def staff(self, user: str = "cv.nguyenvana") -> dict[str, str]:
        return self.tokens.headers(user, ["specialist"], unit="KT")


def service_settings(stack: Stack, schema: str, prefix: str, **overrides: object) -> Settings:
    env = stack.cfg.service_env("issuance")
    return Settings(
        database_url=stack.cfg.database_url(driver="postgresql+asyncpg"),
        database_schema=schema,
        topic_prefix=prefix,
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        s3_endpoint=stack.cfg.s3_endpoint,
        s3_access_key=env["QLVB_ISSUANCE_S3_ACCESS_KEY"],
        s3_secret_key=env["QLVB_ISSUANCE_S3_SECRET_KEY"],
        outbox_poll_interval_s=0.05,
        consumer_backoff_base_s=0.05,
        db_pool_size=40,
        db_max_overflow=40,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
async def svc(stack: Stack) -> AsyncIterator[Svc]:
    unique = uuid.uuid4().hex[:10]
    schema = f"issuance_{unique}"
    prefix = f"t{unique}."
    admin_url = stack.cfg.database_url()
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'create schema "{schema}"')
    await conn.close()
    await create_topics(stack.cfg.kafka_bootstrap, prefix)
    tokens = FakeTokenIssuer()
    settings = service_settings(stack, schema, prefix)
    app = create_app(settings, verifier=tokens.verifier())
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://issuance") as client:
                deadline = time.monotonic() + 60
                while (ready := await client.get("/readyz")).status_code != 200:
                    assert time.monotonic() < deadline, ready.text
                    await asyncio.sleep(0.2)
                s = Svc(
                    app,
                    client,
                    tokens,
                    settings,
                    prefix,
                    stack.cfg.kafka_bootstrap,
                    schema,
                    admin_url,
                )
                await produce(
                    s.bootstrap, prefix + "identity.events", identity_events(), "identity"
                )
                yield s
    finally:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'drop schema "{schema}" cascade')
        await conn.close()
