"""The one way to write a consumer (ARCHITECTURE §3.2–3.3).

An :class:`InboxConsumer` subscribes a handler to a topic under an explicit consumer group. For
each message it runs the handler in a unit of work that also inserts (group, message id) into the
``inbox`` table, so a redelivered message (rebalance, restart, a relay that published twice) finds
its row and has no second effect. Offsets are committed once per fetched batch, after every
message in it has committed its effect or been dead-lettered: one commit costs ≈5 ms on S3-backed
Tansu, so per-message commits would cap a consumer near 190 messages/s. The messages of a fetched
batch also share one database transaction, each in a savepoint (see :meth:`process_batch`): one
commit per batch, the outbox rows of the whole batch in one statement, the audit chain's lock
taken once (bounded by ``consumer_batch_max_seconds``).

Failure policy, per message:
- undecodable, or the contract is broken (:class:`ContractError`), or the handler says it can
  never succeed (:class:`PermanentError`) → the dead-letter topic at once;
- an infrastructure outage (database or broker unreachable) → retried with capped backoff for as
  long as it lasts: the partition waits, nothing is skipped, nothing is dead-lettered;
- any other exception → retried with backoff, at most ``consumer_max_attempts`` times, then the
  dead-letter topic (a poison message); the partition moves on.
Dead-letter entries carry headers: error, error-type, attempts, origin topic/partition/offset,
the consumer group, and the time.

FastStream's own ack policies do not fit (ACK commits even on error, NACK_ON_ERROR loops forever,
and it has no DLQ), so the subscriber runs with ``AckPolicy.MANUAL`` and this module decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from qlvb_chassis.db import ChassisTables, Database, UnitOfWork
from qlvb_chassis.logs import correlation_scope
from qlvb_chassis.metrics import BATCH_SECONDS, BATCH_SIZE, CONSUMED, DEAD_LETTERED, RETRIES
from qlvb_chassis.outbox import make_producer
from qlvb_chassis.settings import ServiceSettings
from qlvb_contracts.envelope import Envelope, parse_payload
from qlvb_contracts.errors import ContractError
from qlvb_contracts.topics import DLQ_SUFFIX, TopicRegistry

log = logging.getLogger("qlvb.consumer")


class PermanentError(Exception):
    """Raised by a handler for a message that can never succeed: it is dead-lettered at once.

    By default the handler's work is rolled back. With ``keep_effects=True`` what the handler
    wrote before raising (an answer to the sender, a rejection record, audit) commits together
    with the dead letter itself, which goes through the outbox: both happen, or neither."""

    def __init__(self, message: str, *, keep_effects: bool = False) -> None:
        super().__init__(message)
        self.keep_effects = keep_effects


class Record(Protocol):
    """What the consumer needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class Delivery:
    """One decoded message, as a handler sees it."""

    message_id: str
    """The dedupe id: the envelope's message_id, or what a custom decoder chose (edXML
    DocumentId)."""
    topic: str
    partition: int
    offset: int
    key: str | None
    payload: BaseModel | None
    envelope: Envelope | None = None
    raw: bytes = b""
    headers: dict[str, bytes] = field(default_factory=dict)


Handler = Callable[[Delivery, UnitOfWork], Awaitable[None]]
"""Does the effect in ``uow`` (and may ``uow.publish`` events). It must not commit: the consumer
commits after recording the message in the inbox."""

Decoder = Callable[[Record], Delivery]
"""Turns a record into a Delivery; raises ContractError for anything it cannot read."""


def envelope_decoder(registry: TopicRegistry, topic_prefix: str = "") -> Decoder:
    """The default: a JSON envelope whose payload model is looked up in the registry."""

    def decode(record: Record) -> Delivery:
        if record.value is None:
            raise ContractError("empty message value")
        envelope = Envelope.from_bytes(record.value)
        topic = record.topic.removeprefix(topic_prefix)
        payload = parse_payload(registry, topic, envelope)
        return Delivery(
            message_id=str(envelope.message_id),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode(errors="replace") if record.key is not None else None,
            payload=payload,
            envelope=envelope,
            raw=record.value,
            headers=dict(record.headers or ()),
        )

    return decode


_TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    ConnectionError,
    TimeoutError,
    OSError,
    KafkaError,
)


def is_transient(exc: BaseException) -> bool:
    """An outage of a part we depend on: waiting helps, dead-lettering would lose work."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, Exception):
        cause = exc.orig.__cause__
        if cause is not None and isinstance(cause, _TRANSIENT):
            return True
    return isinstance(exc, _TRANSIENT)


class InboxConsumer:
    def __init__(
        self,
        *,
        settings: ServiceSettings,
        db: Database,
        tables: ChassisTables,
        topic: str,
        group_id: str,
        handler: Handler,
        decoder: Decoder,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        if not group_id:
            raise ValueError("a consumer must name its group_id")
        self.settings = settings
        self.db = db
        self.inbox = tables.inbox
        self.topic = topic
        """The registry's (logical) name; the subscription adds settings.topic_prefix."""
        self.group_id = group_id
        self.handler = handler
        self.decoder = decoder
        self.service = settings.service_name
        self._producer_factory = producer_factory or (lambda: make_producer(settings))
        self._producer: AIOKafkaProducer | None = None
        self.stalled = False
        """True while an outage holds the partition back (reported by /readyz)."""

    # -- FastStream wiring ---------------------------------------------------------------------

    def subscribe(self, router: Any, **options: Any) -> Any:
        """Register on a FastStream KafkaRouter or KafkaBroker (batch, manual ack)."""

        async def no_decode(_: Any) -> None:
            # Decoding is ours (so a broken body reaches the DLQ instead of FastStream's log).
            return None

        subscriber = router.subscriber(
            self.settings.topic_prefix + self.topic,
            group_id=self.group_id,
            batch=True,
            max_records=self.settings.consumer_max_records,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
            heartbeat_interval_ms=max(500, self.settings.consumer_session_timeout_ms // 5),
            decoder=no_decode,
            title=f"{self.group_id}:{self.topic}",
            **options,
        )

        async def consume(message: KafkaMessage) -> None:
            raw = message.raw_message
            records = raw if isinstance(raw, tuple) else (raw,)
            await self.process_batch(records)
            await message.ack()

        return subscriber(consume)

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):  # bounded: the broker may be gone
                await asyncio.wait_for(producer.stop(), timeout=5)

    # -- processing ----------------------------------------------------------------------------

    async def process_batch(self, records: Sequence[Record]) -> None:
        """Finish every record (effect committed or dead-lettered); raises only on cancel.

        The records of one fetch share one transaction, each in a savepoint of its own: one
        commit (and one connection checkout) per batch instead of per message — per-message
        transactions capped a consumer at ~30 messages/s on these machines. A record whose
        handler fails ends the shared transaction: the records before it commit, the failing one
        takes the one-at-a-time path (retries, outage waits, dead letter), and the rest start a
        new shared transaction. If the shared transaction itself fails (the database went away
        at commit), every record of it takes the one-at-a-time path; the inbox makes the
        replay harmless.
        """
        if not records:
            return
        started = time.perf_counter()
        pending = list(records)
        while pending:
            if len(pending) == 1 or not self.settings.consumer_batch_transactions:
                await self.process(pending.pop(0))
                continue
            pending = await self._process_together(pending)
        labels = (self.service, self.group_id, records[0].topic)
        BATCH_SIZE.labels(*labels).observe(len(records))
        BATCH_SECONDS.labels(*labels).observe(time.perf_counter() - started)

    async def _process_together(self, records: list[Record]) -> list[Record]:
        """Apply a prefix of ``records`` in one transaction; return what is left to do."""
        done: list[tuple[Record, str]] = []
        failed: tuple[Record, Delivery | None, BaseException] | None = None
        deadline = time.monotonic() + self.settings.consumer_batch_max_seconds
        try:
            async with self.db.uow() as uow:
                for record in records:
                    if done and time.monotonic() > deadline:
                        break  # bound the transaction (and the locks it holds); next one goes on
                    try:
                        delivery = self.decoder(record)
                    except ContractError as exc:
                        failed = (record, None, exc)
                        break
                    try:
                        with self._scope(delivery):
                            async with uow.savepoint():
                                outcome = await self._claim_and_handle(record, delivery, uow)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        failed = (record, delivery, exc)
                        break
                    done.append((record, outcome))
                if done:
                    await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The shared transaction is gone (its work with it): one at a time, from the start.
            log.warning("batch of %d failed as a whole, one at a time: %r", len(records), exc)
            for record in records:
                await self.process(record)
            return []
        for record, outcome in done:
            self._count(record, outcome)
        if done:
            self.stalled = False
        if failed is None:
            return records[len(done) :]
        bad_record, bad_delivery, error = failed
        if bad_delivery is None:
            await self._dead_letter(
                bad_record, error, attempts=1, reason="invalid", message_id=None
            )
        else:
            # Its first attempt failed here; the one-at-a-time path goes on from there (so a
            # handler that answered the sender before raising PermanentError never runs twice).
            with self._scope(bad_delivery):
                await self._process_delivery(bad_record, bad_delivery, first_failure=error)
        return records[len(done) + 1 :]

    async def process(self, record: Record) -> str:
        try:
            delivery = self.decoder(record)
        except ContractError as exc:
            await self._dead_letter(record, exc, attempts=1, reason="invalid", message_id=None)
            return "dead_lettered"
        with self._scope(delivery):
            return await self._process_delivery(record, delivery)

    @staticmethod
    def _scope(delivery: Delivery) -> contextlib.AbstractContextManager[None]:
        envelope = delivery.envelope
        if envelope is not None:
            return correlation_scope(envelope.correlation_id, str(envelope.message_id))
        return correlation_scope(None, delivery.message_id)

    async def _process_delivery(
        self, record: Record, delivery: Delivery, first_failure: BaseException | None = None
    ) -> str:
        attempts = 0
        outages = 0
        while True:
            attempts += 1
            try:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                outcome = await self._apply(record, delivery)
            except asyncio.CancelledError:
                raise
            except (ContractError, PermanentError) as exc:
                await self._dead_letter(
                    record, exc, attempts=attempts, reason="invalid", message_id=delivery.message_id
                )
                return "dead_lettered"
            except Exception as exc:
                if is_transient(exc):
                    attempts -= 1  # an outage is not the message's fault
                    outages += 1
                    self.stalled = True
                    RETRIES.labels(self.service, self.group_id, record.topic, "transient").inc()
                    if outages == 1:
                        log.warning("outage while handling %s: %s", delivery.message_id, exc)
                    await asyncio.sleep(self._backoff(outages))
                    continue
                RETRIES.labels(self.service, self.group_id, record.topic, "failure").inc()
                log.warning(
                    "handler failed on %s (attempt %d/%d): %r",
                    delivery.message_id,
                    attempts,
                    self.settings.consumer_max_attempts,
                    exc,
                )
                if attempts >= self.settings.consumer_max_attempts:
                    await self._dead_letter(
                        record,
                        exc,
                        attempts=attempts,
                        reason="poison",
                        message_id=delivery.message_id,
                    )
                    return "dead_lettered"
                await asyncio.sleep(self._backoff(attempts))
                continue
            self.stalled = False
            self._count(record, outcome)
            return outcome

    def _count(self, record: Record, outcome: str) -> None:
        CONSUMED.labels(self.service, self.group_id, record.topic, outcome).inc()
        if outcome == "dead_lettered":  # kept its effects; the dead letter left via the outbox
            DEAD_LETTERED.labels(self.service, self.group_id, record.topic, "invalid").inc()

    def _backoff(self, n: int) -> float:
        base = self.settings.consumer_backoff_base_s * 2.0 ** min(n - 1, 10)
        return min(self.settings.consumer_backoff_max_s, base) * random.uniform(0.8, 1.2)

    async def _apply(self, record: Record, delivery: Delivery) -> str:
        async with self.db.uow() as uow:
            outcome = await self._claim_and_handle(record, delivery, uow)
            if outcome != "duplicate":
                await uow.commit()
        return outcome

    async def _claim_and_handle(self, record: Record, delivery: Delivery, uow: UnitOfWork) -> str:
        """The inbox row, then the effect, in ``uow`` (not committed here)."""
        claimed = await uow.session.execute(
            pg_insert(self.inbox)
            .values(
                consumer_group=self.group_id,
                message_id=delivery.message_id,
                topic=delivery.topic,
            )
            .on_conflict_do_nothing()
            .returning(self.inbox.c.message_id)
        )
        if claimed.first() is None:
            return "duplicate"
        try:
            await self.handler(delivery, uow)
        except PermanentError as exc:
            if not exc.keep_effects:
                raise
            await uow.session.execute(
                update(self.inbox)
                .where(
                    self.inbox.c.consumer_group == self.group_id,
                    self.inbox.c.message_id == delivery.message_id,
                )
                .values(outcome="dead_lettered")
            )
            uow.publish_record(
                record.topic + DLQ_SUFFIX,
                key=record.key,
                value=record.value or b"",
                headers=self._dlq_headers(record, exc, attempts=1, reason="invalid"),
            )
            log.error(
                "dead-lettered %s from %s[%d]@%d, keeping its effects: %s",
                delivery.message_id,
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            return "dead_lettered"
        return "processed"

    # -- dead letters --------------------------------------------------------------------------

    async def _dead_letter(
        self,
        record: Record,
        error: BaseException,
        *,
        attempts: int,
        reason: str,
        message_id: str | None,
    ) -> None:
        """Publish to ``<topic>.dlq`` (waiting out a broker outage), then remember it in the
        inbox so a redelivery is not dead-lettered twice."""
        headers = self._dlq_headers(record, error, attempts=attempts, reason=reason)
        outages = 0
        while True:
            try:
                producer = await self._dlq_producer()
                await producer.send_and_wait(
                    record.topic + DLQ_SUFFIX, record.value, key=record.key, headers=headers
                )
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outages += 1
                self.stalled = True
                if outages == 1:
                    log.warning("cannot reach the dead-letter topic yet: %s", exc)
                await self.close()
                await asyncio.sleep(self._backoff(outages))
        log.error(
            "dead-lettered %s from %s[%d]@%d after %d attempt(s): %s",
            message_id or "(undecodable)",
            record.topic,
            record.partition,
            record.offset,
            attempts,
            error,
        )
        DEAD_LETTERED.labels(self.service, self.group_id, record.topic, reason).inc()
        CONSUMED.labels(self.service, self.group_id, record.topic, "dead_lettered").inc()
        if message_id is not None:
            await self._remember_dead_letter(message_id, record.topic)
        self.stalled = False

    def _dlq_headers(
        self, record: Record, error: BaseException, *, attempts: int, reason: str
    ) -> list[tuple[str, bytes]]:
        return [
            *[(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq-")],
            ("dlq-error", str(error)[:2000].encode()),
            ("dlq-error-type", type(error).__name__.encode()),
            ("dlq-reason", reason.encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-origin-topic", record.topic.encode()),
            ("dlq-origin-partition", str(record.partition).encode()),
            ("dlq-origin-offset", str(record.offset).encode()),
            ("dlq-consumer-group", self.group_id.encode()),
            ("dlq-failed-at", datetime.now(UTC).isoformat().encode()),
        ]

    async def _remember_dead_letter(self, message_id: str, topic: str) -> None:
        outages = 0
        while True:
            try:
                async with self.db.uow() as uow:
                    await uow.session.execute(
                        pg_insert(self.inbox)
                        .values(
                            consumer_group=self.group_id,
                            message_id=message_id,
                            topic=topic,
                            outcome="dead_lettered",
                        )
                        .on_conflict_do_nothing()
                    )
                    await uow.commit()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                outages += 1
                await asyncio.sleep(self._backoff(outages))

    async def _dlq_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._producer_factory()
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer
