"""Raw figures of the parts the system stands on, measured on the running stack:

- S3: 50 KB PUTs with the minio client from 8 threads (the intake benchmark's baseline);
- Kafka: aiokafka batched produce → consume throughput, and send_and_wait latency at a fixed
  rate (the agency-intake and routing-hop baselines);
- PostgreSQL: the gap-free counter-row transaction with asyncpg, N concurrent clients.

    .venv/bin/python bench/raw_baselines.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import threading
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import emit, running_stack, summary_ms
from minio import Minio

from qlvb_stack.stack import Stack


def s3_put_rate(
    stack: Stack, seconds: float, threads: int = 8, size: int = 50_000
) -> dict[str, Any]:
    sec = stack.cfg.secrets()
    client = Minio(
        stack.cfg.s3_endpoint,
        access_key=sec.s3_admin_access_key,
        secret_key=sec.s3_admin_secret_key,
        secure=False,
        region="us-east-1",
    )
    payload = os.urandom(size)
    done = [0] * threads
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work(i: int) -> None:
        while time.monotonic() < deadline:
            t = time.perf_counter()
            client.put_object(
                "qlvb-intake", f"bench/raw/{uuid.uuid4().hex}", io.BytesIO(payload), size
            )
            with lock:
                latencies.append(time.perf_counter() - t)
            done[i] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.monotonic() - started
    return {
        "puts_per_s": round(sum(done) / elapsed, 1),
        "threads": threads,
        "bytes": size,
        "latency": summary_ms(latencies),
    }


async def kafka_figures(stack: Stack, seconds: float) -> dict[str, Any]:
    bootstrap = stack.cfg.kafka_bootstrap
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    await admin.close()
    value = os.urandom(800)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    # 1. batched throughput, produce then consume
    n = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds / 2:
        futures = [await producer.send(topic, value, key=str(i).encode()) for i in range(500)]
        await asyncio.gather(*futures)
        n += 500
    produce_rate = n / (time.monotonic() - started)

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got = 0
    started = time.monotonic()
    while got < n and time.monotonic() - started < 120:
        batch = await consumer.getmany(timeout_ms=500, max_records=2000)
        got += sum(len(v) for v in batch.values())
        await consumer.commit()
    consume_rate = got / (time.monotonic() - started)
    await consumer.stop()

    # 2. send_and_wait latency at 100 messages/s
    latencies = []
    interval = 0.01
    next_at = time.monotonic()
    for i in range(int(100 * min(seconds, 10))):
        next_at += interval
        t = time.perf_counter()
        await producer.send_and_wait(topic, value, key=str(i).encode())
        latencies.append(time.perf_counter() - t)
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await producer.stop()
    return {
        "produce_batched_msgs_per_s": round(produce_rate, 1),
        "consume_msgs_per_s_commit_per_batch": round(consume_rate, 1),
        "produce_consume_msgs_per_s": round(1 / (1 / produce_rate + 1 / consume_rate), 1),
        "send_and_wait_at_100_per_s": summary_ms(latencies),
    }


async def counter_rate(stack: Stack, seconds: float, clients: int = 16) -> dict[str, Any]:
    url = stack.cfg.database_url()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    await conn.execute(f"create schema {schema}")
    await conn.execute(
        f"create table {schema}.counters (register_id text, year int, last_number int,"
        " primary key (register_id, year))"
    )
    await conn.execute(
        f"create table {schema}.numbers (register_id text, year int, number int,"
        " primary key (register_id, year, number))"
    )
    pool = await asyncpg.create_pool(
        url, min_size=clients, max_size=clients, server_settings={"search_path": schema}
    )
    done = 0
    deadline = time.monotonic() + seconds

    async def work() -> None:
        nonlocal done
        async with pool.acquire() as c:
            while time.monotonic() < deadline:
                async with c.transaction():
                    number = await c.fetchval(
                        "insert into counters values ('r', 2026, 1) on conflict "
                        "(register_id, year) do update set last_number = "
                        "counters.last_number + 1 returning last_number"
                    )
                    await c.execute("insert into numbers values ('r', 2026, $1)", number)
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(work() for _ in range(clients)))
    elapsed = time.monotonic() - started
    async with pool.acquire() as c:
        numbers = [r[0] for r in await c.fetch("select number from numbers order by 1")]
    await pool.close()
    await conn.execute(f"drop schema {schema} cascade")
    await conn.close()
    return {
        "numbers_per_s": round(done / elapsed, 1),
        "clients": clients,
        "gap_free": numbers == list(range(1, len(numbers) + 1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    stack = running_stack()
    emit(
        {
            "benchmark": "raw_baselines",
            "s3_put_50kb": s3_put_rate(stack, args.seconds),
            "kafka": asyncio.run(kafka_figures(stack, args.seconds)),
            "postgres_counter": asyncio.run(counter_rate(stack, args.seconds)),
        }
    )


if __name__ == "__main__":
    main()
