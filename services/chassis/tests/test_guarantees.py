"""The chassis' guarantees, proven on the real stack (PostgreSQL, Tansu on S3).

(a) killed between commit and publish → published after restart, once;
(b) the same message twice → one effect;
(c) a poison message → DLQ after the configured attempts, and the partition moves on;
(d) broker stopped for 30 s under load → nothing lost, nothing doubled;
(e) concurrent number allocation with random rollbacks → 1..N, no gaps, no duplicates.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import textwrap
import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from sqlalchemy import func, select

from qlvb_chassis.consumer import Delivery, InboxConsumer, envelope_decoder
from qlvb_chassis.db import UnitOfWork
from qlvb_chassis.numbering import NumberAllocator, NumberAlreadyVoided
from qlvb_chassis.outbox import OutboxRelay
from qlvb_contracts.envelope import Envelope
from qlvb_stack.stack import Stack

from .conftest import Env, ThingHappened, read_topic

pytestmark = pytest.mark.stack


def record_effect(env: Env, fail_on: set[str] | None = None) -> object:
    async def handle(delivery: Delivery, uow: UnitOfWork) -> None:
        assert isinstance(delivery.payload, ThingHappened)
        if fail_on and delivery.payload.thing_id in fail_on:
            raise RuntimeError(f"cannot handle {delivery.payload.thing_id}")
        await uow.session.execute(
            env.effects.insert().values(thing_id=delivery.payload.thing_id, n=delivery.payload.n)
        )

    return handle


def make_consumer(env: Env, group: str, handler: object) -> InboxConsumer:
    return InboxConsumer(
        settings=env.settings,
        db=env.db,
        tables=env.tables,
        topic=env.topic,
        group_id=group,
        handler=handler,  # type: ignore[arg-type]
        decoder=envelope_decoder(env.registry),
    )


async def wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


async def test_a_killed_between_commit_and_publish_is_published_once(env: Env) -> None:
    # A real process commits an effect and its event, then is killed before any relay ran.
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from sqlalchemy import MetaData
        from qlvb_chassis.db import Database, chassis_tables, create_engine
        from qlvb_chassis.outbox import OutboxWriter
        from qlvb_contracts.topics import Topic, TopicRegistry, payload_versions
        from conftest import ThingHappened

        async def main():
            tables = chassis_tables(MetaData())
            registry = TopicRegistry([Topic(name={env.topic!r}, description="", producers=(),
                consumers=(), key="", payloads=payload_versions(ThingHappened))])
            engine = create_engine({env.database_url!r}, search_path={env.schema!r})
            db = Database(engine, OutboxWriter("chassis-test", tables, registry))
            async with db.uow() as uow:
                await uow.publish({env.topic!r}, ThingHappened(thing_id="crash", n=1))
                await uow.commit()
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == -9, stderr.decode()

    relay = OutboxRelay(env.db.engine, env.db.outbox, env.settings)  # type: ignore[arg-type]
    task = asyncio.create_task(relay.run())
    try:
        records = await read_topic(env.settings.kafka_bootstrap, env.topic, expect=1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(records) == 1
    envelope = Envelope.from_bytes(records[0].value)
    assert envelope.payload == {"thing_id": "crash", "n": 1}
    assert records[0].key == b"crash"


async def test_a2_relay_killed_after_send_before_mark_has_one_effect(env: Env) -> None:
    """The other side of (a): the relay crashes after the broker acked but before it marked the
    rows, so they are published twice; the inbox makes the second copy harmless."""
    async with env.db.uow() as uow:
        for n in range(5):
            await uow.publish(env.topic, ThingHappened(thing_id="twice", n=n))
        await uow.commit()
    relay = OutboxRelay(env.db.engine, env.db.outbox, env.settings)  # type: ignore[arg-type]
    await relay.relay_once()
    # Simulate the crash window: undo the mark as if it never committed, then relay again.
    async with env.db.engine.begin() as conn:
        await conn.execute(env.tables.outbox.update().values(published_at=None))
    assert await relay.relay_once() == 5
    await relay._close_producer()

    broker = KafkaBroker(env.settings.kafka_bootstrap)
    consumer = make_consumer(env, f"g-{uuid.uuid4().hex[:6]}", record_effect(env))
    consumer.subscribe(broker)
    async with broker:
        await broker.start()
        records = await read_topic(env.settings.kafka_bootstrap, env.topic, expect=10)
        assert len(records) == 10  # every event really is on the topic twice

        async def five() -> bool:
            return len(await env.effect_rows()) >= 5

        await wait_for(five, 30, "five effects")
        await asyncio.sleep(1.0)  # time for the copies to arrive and be dropped
    assert await env.effect_rows() == [("twice", n) for n in range(5)]
    await consumer.close()


async def test_b_same_message_twice_has_one_effect(env: Env) -> None:
    envelope = Envelope.new(payload=ThingHappened(thing_id="dup", n=7), producer="test")
    producer = AIOKafkaProducer(bootstrap_servers=env.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(env.topic, envelope.to_bytes(), key=b"dup")
        follow = Envelope.new(payload=ThingHappened(thing_id="dup", n=8), producer="test")
        await producer.send_and_wait(env.topic, follow.to_bytes(), key=b"dup")
    finally:
        await producer.stop()

    # Two consumers of one group, as when a service is scaled; the messages share a key.
    broker = KafkaBroker(env.settings.kafka_bootstrap)
    consumers = [make_consumer(env, "g-dup", record_effect(env)) for _ in range(2)]
    for c in consumers:
        c.subscribe(broker)
    async with broker:
        await broker.start()

        async def two() -> bool:
            return len(await env.effect_rows()) >= 2

        await wait_for(two, 30, "two effects")
        await asyncio.sleep(1.0)
    assert await env.effect_rows() == [("dup", 7), ("dup", 8)]
    async with env.db.engine.connect() as conn:
        inbox = env.tables.inbox
        count = await conn.scalar(select(func.count()).select_from(inbox))
    assert count == 2
    for c in consumers:
        await c.close()


async def test_c_poison_goes_to_dlq_and_partition_moves_on(env: Env) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=env.settings.kafka_bootstrap, acks="all")
    await producer.start()
    poison = Envelope.new(payload=ThingHappened(thing_id="poison", n=1), producer="test")
    try:
        # All on one partition, so "moves on" is about the same partition.
        await producer.send_and_wait(env.topic, b"{not json", key=b"k", partition=0)
        await producer.send_and_wait(env.topic, poison.to_bytes(), key=b"k", partition=0)
        bad_version = Envelope.new(payload=ThingHappened(thing_id="v9", n=1), producer="test")
        raw = bad_version.to_bytes().replace(b'"schema_version":1', b'"schema_version":9')
        await producer.send_and_wait(env.topic, raw, key=b"k", partition=0)
        ok = Envelope.new(payload=ThingHappened(thing_id="after", n=2), producer="test")
        await producer.send_and_wait(env.topic, ok.to_bytes(), key=b"k", partition=0)
    finally:
        await producer.stop()

    broker = KafkaBroker(env.settings.kafka_bootstrap)
    consumer = make_consumer(env, "g-poison", record_effect(env, fail_on={"poison"}))
    consumer.subscribe(broker)
    async with broker:
        await broker.start()

        async def after() -> bool:
            return ("after", 2) in await env.effect_rows()

        await wait_for(after, 60, "the message after the poison one")
    await consumer.close()

    dead = await read_topic(env.settings.kafka_bootstrap, env.topic + ".dlq", expect=3)
    assert len(dead) == 3
    by_value = {r.value: dict(r.headers) for r in dead}
    not_json = by_value[b"{not json"]
    assert not_json["dlq-reason"] == b"invalid"
    assert not_json["dlq-attempts"] == b"1"
    assert not_json["dlq-origin-topic"] == env.topic.encode()
    assert not_json["dlq-origin-partition"] == b"0"
    poisoned = by_value[poison.to_bytes()]
    assert poisoned["dlq-reason"] == b"poison"
    assert poisoned["dlq-attempts"] == b"3"  # consumer_max_attempts in the test settings
    assert b"cannot handle poison" in poisoned["dlq-error"]
    assert int(poisoned["dlq-origin-offset"]) == int(not_json["dlq-origin-offset"]) + 1
    versioned = by_value[raw]
    assert b"unsupported schema_version 9" in versioned["dlq-error"]
    assert await env.effect_rows() == [("after", 2)]


async def test_d_broker_down_30s_under_load_nothing_lost_nothing_doubled(
    env: Env, stack: Stack
) -> None:
    total = 300
    broker = KafkaBroker(env.settings.kafka_bootstrap)
    consumer = make_consumer(env, "g-outage", record_effect(env))
    consumer.subscribe(broker)
    relay = OutboxRelay(env.db.engine, env.db.outbox, env.settings)  # type: ignore[arg-type]

    async def load() -> None:
        for n in range(total):
            async with env.db.uow() as uow:
                await uow.publish(env.topic, ThingHappened(thing_id=f"t{n % 7}", n=n))
                await uow.commit()
            await asyncio.sleep(0.1)  # ~10 effects/s for ~30 s

    relay_task = asyncio.create_task(relay.run())
    try:
        async with broker:
            await broker.start()
            load_task = asyncio.create_task(load())
            await asyncio.sleep(5)
            stack.kafka.stop()
            try:
                await asyncio.sleep(30)
            finally:
                stack.kafka.start()
                await asyncio.to_thread(stack.kafka.wait_ready, 60)
            await load_task

            async def all_done() -> bool:
                return len(await env.effect_rows()) >= total

            await wait_for(all_done, 180, f"{total} effects after the outage")
            await asyncio.sleep(2)
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await consumer.close()
    rows = await env.effect_rows()
    assert len(rows) == total, "doubled effects"
    assert sorted(n for _, n in rows) == list(range(total)), "lost effects"


async def test_e_concurrent_allocation_with_rollbacks_is_gap_free(env: Env) -> None:
    allocator = NumberAllocator(env.tables)
    rng = random.Random(20201)
    plan = [rng.random() < 0.3 for _ in range(32)]  # True: this transaction rolls back

    async def one(i: int, rollback: bool) -> int | None:
        async with env.db.uow() as uow:
            number = await allocator.allocate(uow.session, "so-den", 2026, f"doc-{i}")
            await asyncio.sleep(rng.random() * 0.01)
            if rollback:
                return None  # leaving without commit rolls back
            await uow.commit()
            return number

    results = await asyncio.gather(*(one(i, rb) for i, rb in enumerate(plan)))
    committed = sorted(n for n in results if n is not None)
    assert committed == list(range(1, len(committed) + 1))
    assert len(committed) == plan.count(False)

    async with env.db.uow() as uow:
        book = await allocator.register_book(uow.session, "so-den", 2026)
    assert [b.number for b in book] == committed
    # Another year starts again at 1.
    async with env.db.uow() as uow:
        assert await allocator.allocate(uow.session, "so-den", 2027, "doc-x") == 1
        await uow.commit()


async def test_e2_voided_number_stays_and_is_never_reused(env: Env) -> None:
    allocator = NumberAllocator(env.tables)
    async with env.db.uow() as uow:
        first = await allocator.allocate(uow.session, "so-di", 2026, "doc-1")
        await uow.commit()
    async with env.db.uow() as uow:
        await allocator.void(
            uow.session, "so-di", 2026, first, reason="hỏng giấy in", voided_by="vanthu"
        )
        await uow.commit()
    async with env.db.uow() as uow:
        with pytest.raises(NumberAlreadyVoided):
            await allocator.void(uow.session, "so-di", 2026, first, reason="x", voided_by="y")
    async with env.db.uow() as uow:
        second = await allocator.allocate(uow.session, "so-di", 2026, "doc-2")
        await uow.commit()
    assert second == first + 1
    async with env.db.uow() as uow:
        book = await allocator.register_book(uow.session, "so-di", 2026)
    assert [(b.number, b.void_reason) for b in book] == [(1, "hỏng giấy in"), (2, None)]


async def test_uow_rolls_back_unless_committed(env: Env) -> None:
    async with env.db.uow() as uow:
        await uow.publish(env.topic, ThingHappened(thing_id="never", n=1))
        await uow.session.execute(env.effects.insert().values(thing_id="never", n=1))

    async def fails() -> None:
        async with env.db.uow() as uow:
            await uow.session.execute(env.effects.insert().values(thing_id="never", n=2))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fails()
    assert await env.effect_rows() == []
    async with env.db.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(env.tables.outbox)) == 0


async def test_snapshot_reads_one_state_and_writes_nothing(env: Env) -> None:
    async with env.db.snapshot() as view:
        before = (await view.session.execute(env.effects.select())).all()
        async with env.db.uow() as uow:  # a concurrent commit in the middle of the view
            await uow.session.execute(env.effects.insert().values(thing_id="mid", n=1))
            await uow.commit()
        after = (await view.session.execute(env.effects.select())).all()
        assert before == after == []
        with pytest.raises(Exception, match="read-only"):
            await view.session.execute(env.effects.insert().values(thing_id="no", n=2))
    assert await env.effect_rows() == [("mid", 1)]
