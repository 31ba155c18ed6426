"""python -m qlvb_reporting.rebuild — rebuild every read model from the start of the log.

Truncates the read models and the reporting inbox, then replays every consumed topic from its
first offset until caught up, applying the same projections as the live
consumers, a batch of events per transaction. Each replayed event is recorded in the inbox under
the live consumer's group, so when the service resumes from its committed offsets it drops what
was replayed and applies only what is new. Stop the reporting service while this runs (a live
consumer writing during the truncation would leave a mixed state). Prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from qlvb_chassis.consumer import Delivery, envelope_decoder
from qlvb_chassis.db import Database, create_engine
from qlvb_chassis.migrations import upgrade
from qlvb_chassis.service import consumer_group_id
from qlvb_contracts.errors import ContractError
from qlvb_contracts.registry import REGISTRY
from qlvb_reporting.adapters import orm
from qlvb_reporting.entrypoints.consumers import CONSUMED_TOPICS, group_id
from qlvb_reporting.service_layer.projections import project
from qlvb_reporting.settings import Settings

log = logging.getLogger("qlvb.reporting.rebuild")

MIGRATIONS = Path(__file__).parent / "migrations"
IDLE_POLL_MS = 1500
"""A poll that returns nothing for this long, past the reported end offsets, means caught up."""


@dataclass
class RebuildResult:
    events: int = 0
    applied: int = 0
    invalid: int = 0
    """Undecodable or off-contract messages (the live consumer dead-letters them too)."""
    failed: int = 0
    """Messages whose projection raised; logged and recorded as dead-lettered."""
    seconds: float = 0.0


def live_group(settings: Settings, topic: str) -> str:
    """The group the running service consumes ``topic`` with (its inbox rows carry it)."""
    return consumer_group_id(settings, topic, group_id(settings.consumer_group, topic))


async def truncate(db: Database, groups: Sequence[str]) -> None:
    names = ", ".join(f'"{t.name}"' for t in orm.READ_MODELS)
    async with db.uow() as uow:
        await uow.session.execute(text(f"TRUNCATE {names}"))
        await uow.session.execute(
            orm.chassis.inbox.delete().where(orm.chassis.inbox.c.consumer_group.in_(groups))
        )
        await uow.commit()


async def _apply_batch(
    db: Database, group: str, deliveries: list[Delivery], result: RebuildResult
) -> None:
    async def apply(batch: list[Delivery]) -> None:
        async with db.uow() as uow:
            for delivery in batch:
                claimed = await uow.session.execute(
                    pg_insert(orm.chassis.inbox)
                    .values(
                        consumer_group=group,
                        message_id=delivery.message_id,
                        topic=delivery.topic,
                    )
                    .on_conflict_do_nothing()
                    .returning(orm.chassis.inbox.c.message_id)
                )
                if claimed.first() is not None:
                    await project(delivery, uow)
            await uow.commit()

    try:
        await apply(deliveries)
        result.applied += len(deliveries)
        return
    except Exception as exc:
        log.warning("batch failed (%s); replaying it one event at a time", exc)
    for delivery in deliveries:
        try:
            await apply([delivery])
            result.applied += 1
        except Exception as exc:
            result.failed += 1
            log.error("cannot apply %s from %s: %r", delivery.message_id, delivery.topic, exc)
            async with db.uow() as uow:
                await uow.session.execute(
                    pg_insert(orm.chassis.inbox)
                    .values(
                        consumer_group=group,
                        message_id=delivery.message_id,
                        topic=delivery.topic,
                        outcome="dead_lettered",
                    )
                    .on_conflict_do_nothing()
                )
                await uow.commit()


async def replay_topic(settings: Settings, db: Database, topic: str, result: RebuildResult) -> None:
    name = settings.topic_prefix + topic
    group = live_group(settings, topic)
    decode = envelope_decoder(REGISTRY, settings.topic_prefix)
    # No group: partitions are assigned by hand, so no committed offset is read or moved.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"qlvb-{settings.service_name}-rebuild",
    )
    await consumer.start()
    try:
        partitions = sorted(consumer.partitions_for_topic(name) or set())
        if not partitions:
            await consumer.topics()  # refresh metadata once: the topic may be new to us
            partitions = sorted(consumer.partitions_for_topic(name) or set())
        assigned = [TopicPartition(name, p) for p in partitions]
        if not assigned:
            log.warning("topic %s has no partitions; nothing to replay", name)
            return
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        log.info("replaying %s up to %s", name, {tp.partition: ends[tp] for tp in assigned})
        while True:
            batches = await consumer.getmany(
                timeout_ms=IDLE_POLL_MS, max_records=settings.rebuild_batch_size
            )
            deliveries: list[Delivery] = []
            for records in batches.values():
                for record in records:
                    result.events += 1
                    try:
                        deliveries.append(decode(record))
                    except ContractError as exc:
                        result.invalid += 1
                        log.warning("skipping invalid message %s@%d: %s", name, record.offset, exc)
            if deliveries:
                await _apply_batch(db, group, deliveries, result)
            if not any(batches.values()):
                # Caught up: a poll came back empty and every partition is past the end offset
                # the broker reported at the start. (Tansu under-reports end offsets of
                # partitions written in batches, so they are only a lower bound here.)
                behind = [tp for tp in assigned if await consumer.position(tp) < ends[tp]]
                if not behind:
                    break
    finally:
        await consumer.stop()


async def rebuild(settings: Settings, *, topics: Sequence[str] = CONSUMED_TOPICS) -> RebuildResult:
    """``topics`` is the replay order; projections do not depend on it (tests vary it)."""
    started = time.monotonic()
    await upgrade(MIGRATIONS, settings.database_url, search_path=settings.database_schema)
    engine = create_engine(settings.database_url, search_path=settings.database_schema)
    db = Database(engine)
    result = RebuildResult()
    try:
        await truncate(db, [live_group(settings, t) for t in CONSUMED_TOPICS])
        for topic in topics:
            await replay_topic(settings, db, topic, result)
    finally:
        await db.dispose()
    result.seconds = round(time.monotonic() - started, 3)
    return result


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    result = asyncio.run(rebuild(Settings()))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
