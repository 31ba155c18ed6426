"""A throwaway service on the real stack: its own schema, a test topic, a test event type."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Column, Integer, MetaData, String, Table

from qlvb_chassis.db import ChassisTables, Database, chassis_tables, create_engine
from qlvb_chassis.outbox import OutboxWriter
from qlvb_chassis.settings import ServiceSettings
from qlvb_contracts.topics import Payload, Topic, TopicRegistry, payload_versions
from qlvb_stack.stack import Stack


class ThingHappened(Payload):
    """A test event: something happened to thing ``thing_id``, the ``n``-th time."""

    EVENT_TYPE: ClassVar[str] = "thing.happened"
    SCHEMA_VERSION: ClassVar[int] = 1

    thing_id: str
    n: int

    def aggregate_key(self) -> str:
        return self.thing_id


@dataclass
class Env:
    """Everything a chassis test needs, wired the way a service's composition root does."""

    settings: ServiceSettings
    db: Database
    tables: ChassisTables
    effects: Table
    registry: TopicRegistry
    topic: str
    schema: str
    database_url: str

    async def effect_rows(self) -> list[tuple[str, int]]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                self.effects.select().order_by(self.effects.c.thing_id, self.effects.c.n)
            )
            return [(r.thing_id, r.n) for r in rows]


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, num_partitions=partitions, replication_factor=1),
                NewTopic(name + ".dlq", num_partitions=1, replication_factor=1),
            ]
        )
    finally:
        await admin.close()


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout_s: float = 30) -> list:  # type: ignore[type-arg]
    """Every record on ``topic`` from the start, waiting until ``expect`` are there (or timeout),
    then a little longer to catch extra copies."""
    import asyncio
    import time

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records = []
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for rs in batch.values():
                records.extend(rs)
            if len(records) >= expect:
                deadline = min(deadline, time.monotonic() + 1.5)
        await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records


@pytest.fixture
async def env(stack: Stack, unique: str) -> AsyncIterator[Env]:
    schema = f"chassis_{unique}"
    admin_url = stack.cfg.database_url()
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'create schema "{schema}"')
    await conn.close()

    topic = f"chassis-test.{unique}"
    registry = TopicRegistry(
        [
            Topic(
                name=topic,
                description="chassis test topic",
                producers=("test",),
                consumers=("test",),
                key="thing id",
                partitions=4,
                payloads=payload_versions(ThingHappened),
            )
        ]
    )
    await create_topic(stack.cfg.kafka_bootstrap, topic, 4)

    settings = ServiceSettings(
        service_name="chassis-test",
        database_url=admin_url.replace("postgresql://", "postgresql+asyncpg://"),
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        consumer_max_attempts=3,
        consumer_backoff_base_s=0.05,
        consumer_backoff_max_s=1.0,
        outbox_poll_interval_s=0.05,
        outbox_backoff_max_s=1.0,
    )
    metadata = MetaData()
    tables = chassis_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("thing_id", String, nullable=False),
        Column("n", Integer, nullable=False),
    )
    engine = create_engine(settings.database_url, pool_size=20, search_path=schema)
    async with engine.begin() as c:
        await c.run_sync(metadata.create_all)
    writer = OutboxWriter("chassis-test", tables, registry)
    db = Database(engine, writer)
    yield Env(
        settings=settings,
        db=db,
        tables=tables,
        effects=effects,
        registry=registry,
        topic=topic,
        schema=schema,
        database_url=settings.database_url,
    )
    await db.dispose()
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'drop schema "{schema}" cascade')
    await conn.close()
