"""The inbox consumer applies the records of one fetch in one transaction (a savepoint each).

On the real stack: messages produced before the consumer starts arrive in large fetches.
(1) one transaction per fetched batch, not per message (the inbox rows of one transaction share
    its start time), in partition order;
(2) a failing record inside a batch: the records before it keep their effects, its own partial
    writes are rolled back, a record failing once is retried and applied once, a PermanentError
    handler runs once and is dead-lettered after one attempt, and the records after it are
    applied — each exactly once, in order;
(3) PermanentError(keep_effects=True): the handler's writes commit with the record's dead letter
    (sent through the outbox), the handler runs once.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from sqlalchemy import func, select

from qlvb_chassis.consumer import Delivery, PermanentError
from qlvb_chassis.db import UnitOfWork
from qlvb_chassis.outbox import OutboxRelay
from qlvb_contracts.envelope import Envelope

from .conftest import Env, ThingHappened, read_topic
from .test_guarantees import make_consumer, wait_for

pytestmark = pytest.mark.stack


async def produce(env: Env, things: list[tuple[str, int]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=env.settings.kafka_bootstrap, acks="all", linger_ms=20
    )
    await producer.start()
    try:
        futures = []
        for thing_id, n in things:
            value = Envelope.new(payload=ThingHappened(thing_id=thing_id, n=n), producer="test")
            futures.append(await producer.send(env.topic, value.to_bytes(), key=b"k", partition=0))
        for f in futures:
            await f
    finally:
        await producer.stop()


async def effects_in_order(env: Env) -> list[tuple[str, int]]:
    async with env.db.engine.connect() as conn:
        rows = await conn.execute(env.effects.select().order_by(env.effects.c.id))
        return [(r.thing_id, r.n) for r in rows]


async def test_one_transaction_per_fetched_batch_in_partition_order(env: Env) -> None:
    total = 300
    await produce(env, [("t", n) for n in range(total)])

    async def handle(delivery: Delivery, uow: UnitOfWork) -> None:
        assert isinstance(delivery.payload, ThingHappened)
        await uow.session.execute(
            env.effects.insert().values(thing_id=delivery.payload.thing_id, n=delivery.payload.n)
        )

    broker = KafkaBroker(env.settings.kafka_bootstrap)
    consumer = make_consumer(env, "g-batch", handle)
    consumer.subscribe(broker)
    async with broker:
        await broker.start()

        async def all_done() -> bool:
            return len(await effects_in_order(env)) >= total

        await wait_for(all_done, 60, f"{total} effects")
    await consumer.close()

    assert await effects_in_order(env) == [("t", n) for n in range(total)]
    async with env.db.engine.connect() as conn:
        inbox = env.tables.inbox
        transactions = await conn.scalar(
            select(func.count(func.distinct(inbox.c.processed_at))).where(
                inbox.c.consumer_group == "g-batch"
            )
        )
    # now() is the transaction's start: one value per transaction. Per-message transactions
    # would give 300; fetches of up to consumer_max_records give a handful.
    assert transactions is not None
    assert transactions <= total // 10, transactions


async def test_a_failure_inside_a_batch_touches_only_its_own_record(env: Env) -> None:
    plan = [("ok", 1), ("ok", 2), ("flaky", 3), ("ok", 4), ("poison", 5), ("ok", 6)]
    plan += [("refused", 7), ("ok", 8), ("ok", 9)]
    await produce(env, plan)
    calls: Counter[str] = Counter()

    async def handle(delivery: Delivery, uow: UnitOfWork) -> None:
        assert isinstance(delivery.payload, ThingHappened)
        thing, n = delivery.payload.thing_id, delivery.payload.n
        calls[thing] += 1
        # Write first, then fail: the failing record's own write must not survive.
        await uow.session.execute(env.effects.insert().values(thing_id=thing, n=n))
        if thing == "flaky" and calls[thing] == 1:
            raise RuntimeError("flaky the first time")
        if thing == "poison":
            raise RuntimeError("cannot handle poison")
        if thing == "refused":
            raise PermanentError("refused for good")

    broker = KafkaBroker(env.settings.kafka_bootstrap)
    consumer = make_consumer(env, "g-fail", handle)
    consumer.subscribe(broker)
    async with broker:
        await broker.start()

        async def last_done() -> bool:
            return ("ok", 9) in await effects_in_order(env)

        await wait_for(last_done, 60, "the last message of the batch")
    await consumer.close()

    assert await effects_in_order(env) == [
        ("ok", 1),
        ("ok", 2),
        ("flaky", 3),
        ("ok", 4),
        ("ok", 6),
        ("ok", 8),
        ("ok", 9),
    ]
    assert calls["flaky"] == 2
    assert calls["poison"] == env.settings.consumer_max_attempts
    assert calls["refused"] == 1
    dead = await read_topic(env.settings.kafka_bootstrap, env.topic + ".dlq", expect=2)
    reasons = sorted((dict(r.headers)["dlq-reason"], dict(r.headers)["dlq-attempts"]) for r in dead)
    assert reasons == [(b"invalid", b"1"), (b"poison", b"3")]
    async with env.db.engine.connect() as conn:
        inbox = env.tables.inbox
        outcomes = Counter(
            (await conn.execute(select(inbox.c.outcome).where(inbox.c.consumer_group == "g-fail")))
            .scalars()
            .all()
        )
    assert outcomes == {"processed": 7, "dead_lettered": 2}


async def test_permanent_error_keeping_effects_commits_them_with_the_dead_letter(env: Env) -> None:
    # The refused record sits between accepted ones in one fetch; its handler writes (an answer
    # to its sender, say) before raising. Before this mechanism, such handlers committed the
    # answer in a second unit of work — which waits forever on a lock the batch holds.
    await produce(env, [("ok", 1), ("refused", 2), ("ok", 3)])
    calls: Counter[str] = Counter()

    async def handle(delivery: Delivery, uow: UnitOfWork) -> None:
        assert isinstance(delivery.payload, ThingHappened)
        thing, n = delivery.payload.thing_id, delivery.payload.n
        calls[thing] += 1
        await uow.session.execute(env.effects.insert().values(thing_id=thing, n=n))
        if thing == "refused":
            raise PermanentError("refused, with an answer", keep_effects=True)

    relay = OutboxRelay(env.db.engine, env.db.outbox, env.settings)  # type: ignore[arg-type]
    relaying = asyncio.create_task(relay.run())
    broker = KafkaBroker(env.settings.kafka_bootstrap)
    consumer = make_consumer(env, "g-keep", handle)
    consumer.subscribe(broker)
    try:
        async with broker:
            await broker.start()

            async def last_done() -> bool:
                return ("ok", 3) in await effects_in_order(env)

            await wait_for(last_done, 60, "the record after the refused one")
        dead = await read_topic(env.settings.kafka_bootstrap, env.topic + ".dlq", expect=1)
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await consumer.close()

    assert await effects_in_order(env) == [("ok", 1), ("refused", 2), ("ok", 3)]
    assert calls == {"ok": 2, "refused": 1}
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["dlq-reason"] == b"invalid"
    assert headers["dlq-attempts"] == b"1"
    assert headers["dlq-error"] == b"refused, with an answer"
    assert headers["dlq-consumer-group"] == b"g-keep"
    assert Envelope.from_bytes(dead[0].value).payload == {"thing_id": "refused", "n": 2}
    async with env.db.engine.connect() as conn:
        inbox = env.tables.inbox
        outcomes: dict[str, int] = dict(
            (
                await conn.execute(
                    select(inbox.c.outcome, func.count())
                    .where(inbox.c.consumer_group == "g-keep")
                    .group_by(inbox.c.outcome)
                )
            ).all()
        )
    assert outcomes == {"processed": 2, "dead_lettered": 1}
