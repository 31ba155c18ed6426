"""Routing hop latency at 100 messages/s: intake's ``incoming_document.registered`` events
(contracts' Envelope and payload, as intake's outbox relay writes them: value, key, headers) are
produced straight onto intake.incoming-documents with aiokafka (acks=all, linger 5 ms, as the raw
baseline's producer) at --rate per second for --seconds; every --sample-every-th document is
polled on routing (GET /cases?incoming_document_id=... as the specialist) until its case shows a
task. Hop latency = from just before the send to the response that shows the task (so it
includes the produce, routing's consume and transaction, and one GET); the lower bound is the
start of the last poll that did not show it. Polls are capped at --max-polls per second in all,
so that following samples does not load routing much. Also given from the broker's ack.

Baseline, measured in the same run just before: raw send_and_wait latency at 100 msg/s on the
same broker (raw_baselines.kafka_figures). Target: hop p99 ≤ 5 × raw send_and_wait p99. Also
printed, as a diagnostic: raw produce → consume latency at --rate with aiokafka's default
consumer settings (those of the services), the floor of any Kafka hop on this broker.

The documents are synthetic (register BENCH-SYNTHETIC, not in intake): they open cases for
cv.nguyenvana in routing, and reporting, which reads the same topic, lists them too. Fine for the
dev stack, not for a stack whose data matter.

    .venv/bin/python bench/routing_hop.py [--seconds 10] [--rate 100] [--sample-every 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import emit, running_stack, summary_ms
from intake_end_to_end import (
    SPECIALIST,
    Auth,
    CpuMeter,
    PollBudget,
    case_with_task,
    ensure_ready,
    metric,
    poll_until,
)
from raw_baselines import kafka_figures

from qlvb_contracts.edxml import Signer
from qlvb_contracts.envelope import Actor, Envelope
from qlvb_contracts.payloads.common import StoredAttachment
from qlvb_contracts.payloads.intake import Channel, IncomingDocumentRegistered
from qlvb_contracts.reference import Urgency
from qlvb_contracts.registry import INTAKE_DOCUMENTS
from qlvb_stack.services import service_url
from qlvb_stack.stack import Stack

REGISTER = "BENCH-SYNTHETIC"


def registered(i: int, tag: str, now: datetime) -> tuple[str, Envelope]:
    doc_id = str(uuid.uuid4())
    local = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    payload = IncomingDocumentRegistered(
        incoming_document_id=doc_id,
        register_id=REGISTER,
        year=local.year,
        ArrivalNumber=i,
        ArrivalDate=now,
        channel=Channel.PAPER,
        CodeNumber=str(i),
        CodeNotation=f"SXD-{tag.upper()}",
        OrganName="Sở Xây dựng",
        TypeName="Công văn",
        Subject=f"V/v rà soát quy hoạch xây dựng, đợt {i} ({tag})",
        PromulgationDate=local.date(),
        SignerInfo=Signer(Position="Phó Giám đốc", FullName="Phạm Văn Dựng"),
        Priority=Urgency.NORMAL,
        PageAmount=3,
        ToPlaces=["UBND thành phố"],
        first_handlers=[SPECIALIST],
        attachments=[
            StoredAttachment(
                object_key=f"paper/{local:%Y/%m}/{uuid.uuid4().hex}",
                sha256=uuid.uuid4().hex * 2,
                content_type="application/pdf",
                size=50_000,
                AttachmentName="scan.pdf",
            )
        ],
        sla_deadline=now + timedelta(hours=4),
        sla_met=True,
    )
    envelope = Envelope.new(
        payload=payload, producer="intake", actor=Actor(user="vanthu"), occurred_at=now
    )
    return doc_id, envelope


async def produce_to_consume(stack: Stack, rate: float, count: int) -> dict[str, Any]:
    """Diagnostic, not the target's baseline: raw produce → consume latency on the same broker
    at ``rate``, with aiokafka's default consumer settings (fetch_max_wait_ms=500), which the
    services' consumers use too. The floor of any Kafka hop here."""
    bootstrap = stack.cfg.kafka_bootstrap
    topic = f"bench.raw.lat.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    await admin.close()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent: dict[bytes, float] = {}
    latencies: list[float] = []

    async def consume() -> None:
        while len(latencies) < count:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                latencies.extend(now - sent[r.value] for r in records if r.value in sent)

    try:
        reader = asyncio.create_task(consume())
        await asyncio.sleep(1)  # the group joined
        next_at = time.perf_counter()
        for i in range(count):
            value = str(i).encode()
            sent[value] = time.perf_counter()
            await producer.send(topic, value, key=value)
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.wait_for(reader, 60)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"rate_per_s": rate, "fetch_max_wait_ms": 500, "latency": summary_ms(latencies)}


async def run_system(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    urls = {s: service_url(stack.cfg, s) for s in ("identity", "routing")}
    auth = Auth(urls["identity"], stack.cfg.secrets().demo_password)
    tag = f"rh{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.cfg.kafka_bootstrap, acks="all", linger_ms=5
    )
    await producer.start()
    probe = httpx.AsyncClient(timeout=30)
    try:
        await ensure_ready(probe, urls)
        await auth.headers(probe, SPECIALIST)
        opened_before = metric(
            (await probe.get(urls["routing"] + "/metrics")).text,
            "qlvb_routing_cases_opened_total",
            origin="incoming",
        )
        from_send: list[float] = []
        from_send_lower: list[float] = []
        budget = PollBudget(args.max_polls)
        from_ack: list[float] = []
        acks: list[float] = []
        lost = 0
        errors: list[str] = []
        trackers: list[asyncio.Task[None]] = []
        ack_times: dict[str, float] = {}

        async def follow(doc_id: str, t_send: float) -> None:
            nonlocal lost
            seen = await poll_until(
                probe,
                budget,
                urls["routing"] + "/cases",
                {"incoming_document_id": doc_id},
                lambda: auth.headers(probe, SPECIALIST),
                case_with_task,
                t_send,
                args.poll_interval,
                args.hop_timeout,
            )
            if seen is None:
                lost += 1
                return
            upper, lower = seen
            from_send.append(upper)
            from_send_lower.append(lower)
            t_ack = ack_times.get(doc_id)
            if t_ack is not None:
                from_ack.append(upper - (t_ack - t_send))

        def acked(doc_id: str, t_send: float) -> Any:
            def done(fut: asyncio.Future[Any]) -> None:
                if not fut.cancelled() and fut.exception() is None:
                    now = time.perf_counter()
                    ack_times[doc_id] = now
                    acks.append(now - t_send)
                elif len(errors) < 5:
                    errors.append(repr(fut.exception()))

            return done

        cpu = CpuMeter(stack)
        cpu.begin()
        interval = 1 / args.rate
        total = int(args.rate * args.seconds)
        started = time.perf_counter()
        next_at = started
        behind = 0
        for i in range(1, total + 1):
            doc_id, envelope = registered(i, tag, datetime.now(UTC))
            value = envelope.to_bytes()
            t_send = time.perf_counter()
            fut = await producer.send(
                INTAKE_DOCUMENTS, value, key=envelope.key.encode(), headers=envelope.headers()
            )
            fut.add_done_callback(acked(doc_id, t_send))
            if (i - 1) % args.sample_every == 0:
                trackers.append(asyncio.create_task(follow(doc_id, t_send)))
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                behind += 1
        await producer.flush()
        produced_for = time.perf_counter() - started
        await asyncio.gather(*trackers)
        cpu_used = cpu.end()
        opened = 0.0
        drained_after = None
        waited_from = time.perf_counter()
        while time.perf_counter() - waited_from < args.hop_timeout:
            opened = (
                metric(
                    (await probe.get(urls["routing"] + "/metrics")).text,
                    "qlvb_routing_cases_opened_total",
                    origin="incoming",
                )
                - opened_before
            )
            if opened >= total:
                drained_after = round(time.perf_counter() - waited_from, 3)
                break
            await asyncio.sleep(0.2)
    finally:
        await producer.stop()
        await probe.aclose()

    return {
        "tag": tag,
        "rate_per_s": args.rate,
        "produced": total,
        "achieved_rate_per_s": round(total / produced_for, 1),
        "sends_behind_schedule": behind,
        "sampled_every": args.sample_every,
        "poll_interval_ms": round(args.poll_interval * 1000),
        "max_polls_per_s": args.max_polls,
        "polls": budget.polls,
        "hop_from_send": summary_ms(from_send),
        "hop_from_send_lower_bound": summary_ms(from_send_lower),
        "hop_from_ack": summary_ms(from_ack),
        "produce_ack": summary_ms(acks),
        "not_seen_within_timeout": lost,
        "errors": errors,
        "routing_cases_opened": opened,
        "routing_drained_after_s": drained_after,
        "cpu_during_load": cpu_used,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=100, help="messages per second")
    parser.add_argument("--sample-every", type=int, default=10, help="follow every Nth document")
    parser.add_argument(
        "--poll-interval", type=float, default=0.02, help="seconds between a sample's polls"
    )
    parser.add_argument(
        "--max-polls", type=float, default=30, help="polls per second on routing, at most"
    )
    parser.add_argument("--hop-timeout", type=float, default=300)
    args = parser.parse_args()
    stack = running_stack()
    raw = asyncio.run(kafka_figures(stack, args.seconds))
    floor = asyncio.run(produce_to_consume(stack, args.rate, int(args.rate * min(args.seconds, 5))))
    system = asyncio.run(run_system(stack, args))
    raw_p99 = raw["send_and_wait_at_100_per_s"]["p99_ms"]
    hop_p99 = system["hop_from_send"]["p99_ms"]
    ratio = hop_p99 / raw_p99 if raw_p99 else float("inf")
    complete = (
        system["not_seen_within_timeout"] == 0 and system["routing_drained_after_s"] is not None
    )
    emit(
        {
            "benchmark": "routing_hop",
            "system": system,
            "raw_kafka": raw,
            "raw_send_and_wait_p99_ms": raw_p99,
            "hop_p99_over_raw_p99": round(ratio, 2),
            "diagnostic_raw_produce_to_consume": floor,
            "target": "hop p99 (event in -> assignment visible) <= 5 x raw send_and_wait p99",
            "target_met": ratio <= 5 and complete,
        }
    )


if __name__ == "__main__":
    main()
