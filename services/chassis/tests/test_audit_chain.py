"""ChainHead: the audit chain's head is read once per transaction and forgotten on rollback."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, select, text

from qlvb_chassis.audit import ChainHead
from qlvb_chassis.db import UnitOfWork

from .conftest import Env

pytestmark = pytest.mark.stack

chain = Table(
    "chain",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("prev", String, nullable=False),
    Column("hash", String, nullable=False),
)
HEAD = ChainHead(
    "test",
    lock=text("select pg_advisory_xact_lock(:k)"),
    lock_params={"k": 4242},
    head=select(chain.c.hash).order_by(chain.c.id.desc()).limit(1),
    genesis="0",
)


async def append(uow: UnitOfWork, label: str) -> None:
    prev = await HEAD.get(uow.session)
    new = hashlib.sha256((prev + label).encode()).hexdigest()
    await uow.session.execute(chain.insert().values(prev=prev, hash=new))
    HEAD.advance(uow.session, new)


async def test_head_read_once_per_transaction_and_again_after_a_rollback(env: Env) -> None:
    async with env.db.engine.begin() as conn:
        await conn.run_sync(chain.metadata.create_all)
    locks: list[str] = []

    def count_locks(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            locks.append(statement)

    event.listen(env.db.engine.sync_engine, "before_cursor_execute", count_locks)
    try:
        async with env.db.uow() as uow:
            await append(uow, "a")
            await append(uow, "b")
            savepoint = await uow.session.begin_nested()
            await append(uow, "c")
            await savepoint.rollback()  # c goes with its savepoint
            await append(uow, "d")  # must chain to b, not to the rolled-back c
            await uow.commit()
        assert len(locks) == 2  # once at the start, once after the rollback
        async with env.db.uow() as uow:
            await append(uow, "e")  # a new transaction takes the lock again
            await uow.commit()
        assert len(locks) == 3
    finally:
        event.remove(env.db.engine.sync_engine, "before_cursor_execute", count_locks)

    async with env.db.engine.connect() as conn:
        rows = (await conn.execute(select(chain).order_by(chain.c.id))).all()
    assert len(rows) == 4
    expected_prev = "0"
    for row, label in zip(rows, "abde", strict=True):
        assert row.prev == expected_prev
        assert row.hash == hashlib.sha256((expected_prev + label).encode()).hexdigest()
        expected_prev = row.hash
