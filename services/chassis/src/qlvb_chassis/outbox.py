"""Transactional outbox and its relay (ARCHITECTURE §3.1: no dual writes).

A handler records events with ``uow.publish(...)``: a row in the ``outbox`` table, in the same
transaction as the effect. The relay publishes committed rows in id order with acks=all and marks
them published. If the process dies between the broker's ack and the mark, the rows are published
again after restart — consumers drop the copies by message id (the inbox), so the *effect* is
exactly once.

Order per key: one relay per service is active at a time (a PostgreSQL advisory lock elects it,
so scaled copies never interleave), rows are sent in id order, and aiokafka keeps one in-flight
batch per partition and retries it in place. When a send fails, only the rows before the first
failure are marked; the rest are sent again, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qlvb_chassis.db import ChassisTables
from qlvb_chassis.logs import causation_id_var, correlation_id_var
from qlvb_chassis.metrics import OUTBOX_BACKLOG, OUTBOX_ERRORS, OUTBOX_LAG, OUTBOX_PUBLISHED
from qlvb_chassis.settings import ServiceSettings
from qlvb_contracts.envelope import Actor, Envelope
from qlvb_contracts.topics import Payload, TopicRegistry

log = logging.getLogger("qlvb.outbox")


class OutboxWriter:
    """Builds outbox rows; the unit of work writes them into its transaction before commit."""

    def __init__(
        self,
        service: str,
        tables: ChassisTables,
        registry: TopicRegistry,
        topic_prefix: str = "",
    ) -> None:
        self.service = service
        self.topic_prefix = topic_prefix
        self.table = tables.outbox
        self.registry = registry
        self.wakeup = asyncio.Event()

    def row(
        self,
        topic: str,
        payload: Payload,
        *,
        key: str | None = None,
        actor: Actor | None = None,
        occurred_at: datetime | None = None,
    ) -> tuple[Envelope, dict[str, Any]]:
        """The envelope of an event and its outbox row (written by the unit of work)."""
        # Refuse at the source what no consumer could read: an unregistered type or topic.
        self.registry.payload_model(topic, payload.EVENT_TYPE, payload.SCHEMA_VERSION)
        envelope = Envelope.new(
            payload=payload,
            producer=self.service,
            key=key,
            actor=actor,
            correlation_id=correlation_id_var.get(),
            causation_id=causation_id_var.get(),
            occurred_at=occurred_at,
        )
        return envelope, {
            "message_id": envelope.message_id,
            "topic": self.topic_prefix + topic,
            "key": envelope.key,
            "type": envelope.type,
            "value": envelope.to_bytes(),
            "headers": [[k, v.decode()] for k, v in envelope.headers()],
        }

    def raw_row(
        self, topic: str, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> dict[str, Any]:
        """The outbox row of a raw record (``topic`` is the full name; no envelope)."""
        return {
            "message_id": uuid.uuid4(),
            "topic": topic,
            "key": (key or b"").decode(errors="replace"),
            "type": "raw-record",
            "value": value,
            "headers": [[k, v.decode(errors="replace")] for k, v in headers],
        }

    async def write(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        """Insert outbox rows in the caller's transaction: one statement for all of them."""
        if rows:
            await session.execute(self.table.insert(), rows)

    def committed(self) -> None:
        """Wake the relay in this process: an event was just committed."""
        self.wakeup.set()


def make_producer(settings: ServiceSettings, **overrides: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": settings.kafka_idempotence,
        "linger_ms": settings.kafka_linger_ms,
        "request_timeout_ms": 15000,
        "client_id": f"qlvb-{settings.service_name}",
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


class OutboxRelay:
    """Publishes committed outbox rows; backs off while the broker or the database is down."""

    RETENTION_DAYS = 7

    def __init__(
        self,
        engine: AsyncEngine,
        writer: OutboxWriter,
        settings: ServiceSettings,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.table = writer.table
        self.settings = settings
        self.service = writer.service
        self.lock_key = f"qlvb-outbox-relay:{self.service}"
        self.healthy = False
        self._producer: AIOKafkaProducer | None = None
        self._last_cleanup = 0.0

    async def run(self) -> None:
        """Run until cancelled."""
        failures = 0
        try:
            while True:
                try:
                    await self._lead()
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    self.healthy = False
                    OUTBOX_ERRORS.labels(self.service).inc()
                    delay = min(self.settings.outbox_backoff_max_s, 0.2 * 2 ** min(failures, 10))
                    delay *= random.uniform(0.8, 1.2)
                    level = logging.WARNING if failures == 1 else logging.DEBUG
                    log.log(level, "outbox relay paused: %s; retrying in %.1fs", exc, delay)
                    await self._close_producer()
                    await asyncio.sleep(delay)
        finally:
            await self._close_producer()

    async def _lead(self) -> None:
        """Hold the advisory lock on a dedicated connection and relay while holding it."""
        async with self.engine.connect() as lock_conn:
            got = await lock_conn.scalar(
                text("select pg_try_advisory_lock(hashtext(:k))"), {"k": self.lock_key}
            )
            if not got:
                self.healthy = True  # a standby is healthy; another copy relays
                await asyncio.sleep(self.settings.outbox_poll_interval_s * 8)
                return
            try:
                while True:
                    sent = await self.relay_once()
                    self.healthy = True
                    if sent >= self.settings.outbox_batch_size:
                        continue  # backlog: next batch at once
                    await self._idle()
                    await lock_conn.execute(text("select 1"))  # notice a lost lock connection
            finally:
                await lock_conn.execute(
                    text("select pg_advisory_unlock(hashtext(:k))"), {"k": self.lock_key}
                )

    async def _idle(self) -> None:
        self.writer.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.writer.wakeup.wait(), timeout=self.settings.outbox_poll_interval_s
            )
        if time.monotonic() - self._last_cleanup > 60:
            self._last_cleanup = time.monotonic()
            async with self.engine.begin() as conn:
                await conn.execute(
                    delete(self.table).where(
                        self.table.c.published_at
                        < text(f"now() - interval '{self.RETENTION_DAYS} days'")
                    )
                )

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self.settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            # Bounded: stop() flushes in-flight sends, which can hang while the broker is gone.
            # Unmarked rows are simply sent again by the next relay.
            try:
                await asyncio.wait_for(producer.stop(), timeout=5)
            except Exception as exc:
                log.debug("producer stop failed: %s", exc)

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published."""
        t = self.table
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.value, t.c.headers, t.c.created_at)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.settings.outbox_batch_size)
                )
            ).all()
        OUTBOX_BACKLOG.labels(self.service).set(len(rows))
        if not rows:
            return 0
        producer = await self._ensure_producer()
        futures = []
        for row in rows:
            headers = [(k, v.encode()) for k, v in row.headers]
            futures.append(
                await producer.send(row.topic, row.value, key=row.key.encode(), headers=headers)
            )
        results = await asyncio.gather(*futures, return_exceptions=True)
        done: list[int] = []
        failure: BaseException | None = None
        now = datetime.now(UTC)
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                failure = result
                break
            done.append(row.id)
            OUTBOX_PUBLISHED.labels(self.service, row.topic).inc()
            OUTBOX_LAG.labels(self.service).observe(
                max(0.0, (now - row.created_at).total_seconds())
            )
        if done:
            async with self.engine.begin() as conn:
                await conn.execute(update(t).where(t.c.id.in_(done)).values(published_at=now))
        if failure is not None:
            raise failure
        return len(done)
