"""Database: the async engine, the chassis' own tables, and the unit of work.

Each service has one SQLAlchemy ``MetaData`` for its schema; :func:`chassis_tables` adds the
tables of the chassis mechanisms (outbox, inbox, number counters, idempotency keys) to it, so one
Alembic history per service creates them. Tables are unqualified: the service's database role has
its own schema as ``search_path`` (provisioned by ``./qlvb up``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from datetime import datetime

    from qlvb_chassis.outbox import OutboxWriter
    from qlvb_contracts.envelope import Actor, Envelope
    from qlvb_contracts.topics import Payload


@dataclass(frozen=True)
class ChassisTables:
    outbox: Table
    inbox: Table
    number_counters: Table
    allocated_numbers: Table
    idempotency_keys: Table


def chassis_tables(metadata: MetaData) -> ChassisTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(300), nullable=False),
        Column("type", String(200), nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
    )
    Index(
        "ix_outbox_unpublished",
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer_group", String(200), nullable=False),
        Column("message_id", String(300), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("outcome", String(20), nullable=False, server_default="processed"),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer_group", "message_id", name="pk_inbox"),
    )
    number_counters = Table(
        "number_counters",
        metadata,
        Column("register_id", String(100), nullable=False),
        Column("year", Integer, nullable=False),
        Column("last_number", Integer, nullable=False),
        PrimaryKeyConstraint("register_id", "year", name="pk_number_counters"),
    )
    allocated_numbers = Table(
        "allocated_numbers",
        metadata,
        Column("register_id", String(100), nullable=False),
        Column("year", Integer, nullable=False),
        Column("number", Integer, nullable=False),
        Column("reference", String(300), nullable=False),
        Column("allocated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("voided_at", DateTime(timezone=True)),
        Column("void_reason", Text),
        Column("voided_by", String(200)),
        PrimaryKeyConstraint("register_id", "year", "number", name="pk_allocated_numbers"),
    )
    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        UniqueConstraint("principal", "key", name="uq_idempotency_keys"),
    )
    return ChassisTables(outbox, inbox, number_counters, allocated_numbers, idempotency_keys)


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, search_path: str | None = None
) -> AsyncEngine:
    """``search_path`` overrides the role's default schema (tests use a throwaway schema)."""
    connect_args: dict[str, object] = {"timeout": 5, "command_timeout": 30}
    if search_path is not None:
        connect_args["server_settings"] = {"search_path": search_path}
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, connect_args=connect_args
    )
    _ping_when_idle(engine, idle_s=PING_AFTER_IDLE_S)
    return engine


PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: AsyncEngine, *, idle_s: float) -> None:
    """A restarted PostgreSQL leaves dead pooled connections behind: ping a connection before
    use when it sat in the pool longer than ``idle_s`` (a dead one is replaced, as with
    ``pool_pre_ping``). ``pool_pre_ping`` pings on every checkout, and asyncpg's ping is three
    round trips (BEGIN; ";"; ROLLBACK); a busy pool pays nothing here. A connection that dies
    while in use raises a disconnect error, which invalidates the whole pool."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _returned(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= idle_s:
            return  # just connected, or back from use a moment ago
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("pooled connection is dead") from exc


class UnitOfWork:
    """One transaction: the effect and the events it causes commit together or not at all.

    ``async with uow_factory() as uow: ...; await uow.commit()`` — leaving the block without
    ``commit()`` (an exception, an early return) rolls everything back.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        outbox: OutboxWriter | None,
        *,
        snapshot: bool = False,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._outbox = outbox
        self._snapshot = snapshot
        self._session: AsyncSession | None = None
        self._committed = False
        self.published = 0
        self._outbox_rows: list[dict[str, Any]] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    @property
    def outbox(self) -> OutboxWriter:
        if self._outbox is None:
            raise RuntimeError("this unit of work has no outbox")
        return self._outbox

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessionmaker()
        if self._snapshot:
            # One snapshot for every query of a read: a view assembled from several queries must
            # not mix states before and after a concurrent commit (READ COMMITTED would).
            await self._session.connection(
                execution_options={
                    "isolation_level": "REPEATABLE READ",
                    "postgresql_readonly": True,
                }
            )
        else:
            await self._session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if not self._committed:
                await session.rollback()
        finally:
            await session.close()
            self._session = None

    async def publish(
        self,
        topic: str,
        payload: Payload,
        *,
        key: str | None = None,
        actor: Actor | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Record an event in the outbox, in this transaction; the relay publishes it after
        commit. Correlation and causation ids come from the message or request being handled.

        The rows are written in one statement when the unit of work commits (or on
        :meth:`flush_outbox`): a change that publishes several events costs one round trip."""
        envelope, row = self.outbox.row(
            topic, payload, key=key, actor=actor, occurred_at=occurred_at
        )
        self._outbox_rows.append(row)
        self.published += 1
        return envelope

    def publish_record(
        self, topic: str, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        """Record a raw Kafka record (a dead letter: the original bytes with its reason) in the
        outbox, in this transaction. ``topic`` is the full topic name."""
        self._outbox_rows.append(self.outbox.raw_row(topic, key=key, value=value, headers=headers))
        self.published += 1

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A savepoint: if the block raises, its writes and the events it published are undone
        and the transaction goes on."""
        mark = len(self._outbox_rows)
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            self.published -= len(self._outbox_rows) - mark
            del self._outbox_rows[mark:]
            raise

    async def flush_outbox(self) -> None:
        """Write the pending outbox rows now (``commit`` does it anyway)."""
        rows, self._outbox_rows = self._outbox_rows, []
        if rows:
            await self.outbox.write(self.session, rows)

    async def commit(self) -> None:
        await self.flush_outbox()
        await self.session.commit()
        self._committed = True
        if self.published and self._outbox is not None:
            self._outbox.committed()


class Database:
    """The engine and the unit-of-work factory of one service."""

    def __init__(self, engine: AsyncEngine, outbox: OutboxWriter | None = None) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.outbox = outbox

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, self.outbox)

    def snapshot(self) -> UnitOfWork:
        """A read-only unit of work whose queries all see one consistent snapshot (for views)."""
        return UnitOfWork(self.sessionmaker, None, snapshot=True)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
