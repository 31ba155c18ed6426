"""Pooled connections: a dead one (PostgreSQL restarted, backend killed) is replaced before use
once it has idled, without a ping on every checkout."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from qlvb_chassis import db as db_module
from qlvb_chassis.db import create_engine

from .conftest import Env

pytestmark = pytest.mark.stack


async def test_a_killed_idle_connection_is_replaced_at_checkout(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.2)
    engine = create_engine(env.database_url, pool_size=1, max_overflow=0, search_path=env.schema)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(text("select pg_backend_pid()"))
        admin = await asyncpg.connect(env.database_url.replace("+asyncpg", ""))
        try:
            assert await admin.fetchval("select pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.5)  # idle longer than the threshold: pinged, found dead, replaced
        async with engine.connect() as conn:
            second = await conn.scalar(text("select pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()
