"""Agency intake over Kafka: a known agency (Sở Tài chính, 000.00.12.H41) sends edXML packages
addressed to the office (000.00.00.H41) with a real Kafka client (confluent-kafka, acks=all,
idempotence off as Tansu requires) onto exchange.inbound for --seconds; intake accepts each into
the electronic inbox. Counted by intake's own counter of inbound packages by outcome
(qlvb_intake_inbound_packages_total on /metrics), checked at the end against the electronic inbox.

The producer keeps at most --window packages ahead of what intake has finished, so the consumer
is busy the whole time without a backlog that outlives the run. packages/s = packages accepted /
(first produce → the last one accepted).

Baseline, measured in the same run just before: raw aiokafka produce → consume on the same broker
(raw_baselines.kafka_figures, produce_consume_msgs_per_s). Target: ≥ 0.25 × raw.

Every package becomes a document waiting in the electronic inbox of the dev stack (its Subject
carries the run's tag).

    .venv/bin/python bench/agency_kafka.py [--seconds 10] [--window 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))

import httpx
from common import emit, running_stack
from confluent_kafka import Producer
from intake_end_to_end import CLERK, Auth, CpuMeter, ensure_ready, metric
from raw_baselines import kafka_figures

from qlvb_contracts import edxml
from qlvb_contracts.registry import EXCHANGE_INBOUND
from qlvb_stack.agency import build_document
from qlvb_stack.services import service_url
from qlvb_stack.stack import Stack

OFFICE = "000.00.00.H41"
AGENCY = "000.00.12.H41"
AGENCY_NAME = "Sở Tài chính"
OUTCOMES = ("accepted", "duplicate", "rejected", "amendment")


def edxml_package(code: str, subject: str, promulgated: date) -> tuple[str, bytes]:
    """One công văn with a PDF attachment, as ``./qlvb agency send`` builds it."""
    return build_document(
        sender=AGENCY,
        sender_name=AGENCY_NAME,
        recipient=OFFICE,
        recipient_name="Ủy ban nhân dân thành phố",
        code=code,
        subject=subject,
        type_name="Công văn",
        promulgated=promulgated,
        attachment=None,
    )


async def inbound_counts(client: httpx.AsyncClient, intake: str) -> dict[str, float]:
    text = (await client.get(intake + "/metrics")).text
    return {o: metric(text, "qlvb_intake_inbound_packages_total", outcome=o) for o in OUTCOMES}


async def run_system(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    urls = {s: service_url(stack.cfg, s) for s in ("identity", "intake")}
    auth = Auth(urls["identity"], stack.cfg.secrets().demo_password)
    tag = f"ag{uuid.uuid4().hex[:6]}"
    promulgated = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    producer = Producer(
        {
            "bootstrap.servers": stack.cfg.kafka_bootstrap,
            "acks": "all",
            "enable.idempotence": False,  # Tansu refuses idempotent producers
            "linger.ms": 5,
        }
    )
    delivery_errors: list[str] = []
    delivered = 0

    def on_delivery(err: Any, _msg: Any) -> None:
        nonlocal delivered
        if err is not None:
            delivery_errors.append(str(err))
        else:
            delivered += 1

    async with httpx.AsyncClient(timeout=30) as client:
        await ensure_ready(client, urls)
        before = await inbound_counts(client, urls["intake"])
        finished = 0.0  # packages intake is done with (any outcome), since before
        counts = dict.fromkeys(OUTCOMES, 0.0)
        stop_polling = asyncio.Event()

        async def poll_metrics() -> None:
            nonlocal finished, counts
            while not stop_polling.is_set():
                now = await inbound_counts(client, urls["intake"])
                counts = {o: now[o] - before[o] for o in OUTCOMES}
                finished = sum(counts.values())
                await asyncio.sleep(args.metrics_interval)

        poller = asyncio.create_task(poll_metrics())
        cpu = CpuMeter(stack)
        cpu.begin()
        sent = 0
        package_bytes = 0
        started = time.perf_counter()
        deadline = started + args.seconds
        while time.perf_counter() < deadline:
            while sent - finished < args.window and time.perf_counter() < deadline:
                sent += 1
                code = f"{sent}/STC-{tag.upper()}"
                _, package = edxml_package(
                    code, f"V/v đề nghị bổ sung dự toán ngân sách, đợt {sent} ({tag})", promulgated
                )
                package_bytes = len(package)
                producer.produce(
                    EXCHANGE_INBOUND,
                    package,
                    key=AGENCY.encode(),
                    headers=[("content-type", edxml.EDXML_CONTENT_TYPE.encode())],
                    on_delivery=on_delivery,
                )
                producer.poll(0)
            producer.poll(0)
            await asyncio.sleep(0.005)
        produced_for = time.perf_counter() - started
        unflushed = await asyncio.to_thread(producer.flush, 30)
        accepted_in_window = counts["accepted"]
        done_at = None
        while time.perf_counter() - deadline < args.drain_timeout:
            if finished >= sent:
                done_at = time.perf_counter()
                break
            await asyncio.sleep(0.02)
        cpu_used = cpu.end()
        stop_polling.set()
        await poller
        final = await inbound_counts(client, urls["intake"])
        counts = {o: final[o] - before[o] for o in OUTCOMES}
        r = await client.get(
            urls["intake"] + "/incoming-documents",
            params={"status": "received", "channel": "electronic", "q": tag, "limit": 1},
            headers=await auth.headers(client, CLERK),
        )
        in_inbox = r.json().get("total") if r.status_code == 200 else None

    elapsed = (done_at or time.perf_counter()) - started
    return {
        "agency": AGENCY,
        "tag": tag,
        "package_bytes": package_bytes,
        "window": args.window,
        "produced": sent,
        "produce_seconds": round(produced_for, 3),
        "delivered": delivered,
        "delivery_errors": delivery_errors[:5],
        "unflushed": unflushed,
        "outcomes": {o: int(v) for o, v in counts.items()},
        "in_electronic_inbox": in_inbox,
        "all_finished": done_at is not None,
        "seconds_to_last_accepted": round(elapsed, 3),
        "accepted_while_producing_per_s": round(accepted_in_window / produced_for, 1),
        "packages_per_s": round(counts["accepted"] / elapsed, 1),
        "cpu_during_load": cpu_used,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--window", type=int, default=100, help="packages produced ahead of intake at most"
    )
    parser.add_argument("--metrics-interval", type=float, default=0.1)
    parser.add_argument("--drain-timeout", type=float, default=120)
    args = parser.parse_args()
    stack = running_stack()
    raw = asyncio.run(kafka_figures(stack, args.seconds))
    system = asyncio.run(run_system(stack, args))
    base = raw["produce_consume_msgs_per_s"]
    ratio = system["packages_per_s"] / base if base else 0.0
    ok = (
        system["all_finished"]
        and system["outcomes"]["accepted"] == system["produced"]
        and system["in_electronic_inbox"] == system["produced"]
    )
    emit(
        {
            "benchmark": "agency_kafka",
            "system": system,
            "raw_kafka": raw,
            "ratio_to_raw_produce_consume": round(ratio, 4),
            "target": "edXML packages/s into the electronic inbox >= 0.25 x raw produce->consume",
            "every_package_in_inbox": ok,
            "target_met": ratio >= 0.25 and ok,
        }
    )


if __name__ == "__main__":
    main()
