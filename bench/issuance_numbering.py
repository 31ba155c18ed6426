"""Benchmark: N concurrent issuers on one outgoing register.

Prints one JSON object: numbers/s through the issuance service's HTTP API (POST
/outgoing-documents/{id}/issue, in-process over httpx.ASGITransport, each call one transaction
with the counter row, the document, the outbox rows and the register book) and the raw PostgreSQL
figure for the same counter-row transaction (asyncpg directly, same concurrency, same run), with
gaps and duplicates counted. Runs against the dev stack (QLVB_PORT_BASE, default 25000) in a
throwaway schema; the outbox relay is not started, so Kafka is not involved.

Besides the rates it reports what explains them, per issue: the process' CPU time (client and
service share this process and its event loop) and the share of a core it kept busy, the SQL
statements and database round trips the service made, how long the counter row stayed locked
after the allocation (allocation → COMMIT done) and the share of the run it was so locked, the
latency; the same figures at 1 issuer (no lock contention: what one request costs); and the floor
of the in-process client itself (the same POSTs to an app that only answers).

    .venv/bin/python bench/issuance_numbering.py [--issuers 32] [--documents 600]
        [--single-documents 150]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import re
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.types import Receive, Scope, Send

from qlvb_chassis.db import ChassisTables
from qlvb_chassis.migrations import upgrade
from qlvb_chassis.numbering import NumberAllocator
from qlvb_chassis.testing import FakeTokenIssuer
from qlvb_contracts.edxml import Signer
from qlvb_contracts.payloads.common import Recipient, StoredAttachment
from qlvb_contracts.payloads.routing import DocumentFinalizedForIssuance
from qlvb_issuance.adapters import orm
from qlvb_issuance.adapters.repository import Repository
from qlvb_issuance.app import MIGRATIONS, create_app
from qlvb_issuance.domain.model import issued_date
from qlvb_issuance.service_layer import handlers
from qlvb_issuance.settings import Settings
from qlvb_stack.config import StackConfig

RAW_TX = """
insert into number_counters (register_id, year, last_number) values ($1, $2, 1)
on conflict (register_id, year) do update set last_number = number_counters.last_number + 1
returning last_number
"""
# SQLAlchemy's asyncpg driver pings a connection at checkout (pool_pre_ping) with
# BEGIN; ";"; ROLLBACK: three round trips.
PING_ROUND_TRIPS = 3
TABLE = re.compile(r"\b(?:from|into|update)\s+\"?(\w+)", re.IGNORECASE)


def summary_ms(values_s: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds (as bench/common.py, which mypy cannot see from here)."""
    if not values_s:
        return {"n": 0}
    ms = sorted(v * 1000 for v in values_s)

    def at(p: float) -> float:
        return round(ms[max(0, min(len(ms) - 1, round(p / 100 * (len(ms) - 1))))], 3)

    return {
        "p50_ms": at(50),
        "p95_ms": at(95),
        "p99_ms": at(99),
        "mean_ms": round(statistics.fmean(ms), 3),
        "n": len(ms),
    }


class Meter:
    """What the service sends to PostgreSQL, from SQLAlchemy's events on its engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: Counter[str] = Counter()
        self.transactions = 0  # BEGIN … COMMIT/ROLLBACK: two round trips each
        self.checkouts = 0
        self.pre_ping = bool(getattr(engine.sync_engine.pool, "_pre_ping", False))
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "begin", self._begin)
        event.listen(sync.pool, "checkout", self._checkout)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        table = TABLE.search(statement)
        self.statements[f"{verb} {table.group(1) if table else '?'}"] += 1

    def _begin(self, conn: Any) -> None:
        self.transactions += 1

    def _checkout(self, *args: Any) -> None:
        self.checkouts += 1

    def reset(self) -> None:
        self.statements.clear()
        self.transactions = self.checkouts = 0

    def per_issue(self, issues: int) -> dict[str, Any]:
        n = max(issues, 1)
        statements = sum(self.statements.values())
        trips = statements + 2 * self.transactions
        trips += PING_ROUND_TRIPS * self.checkouts if self.pre_ping else 0
        return {
            "statements_per_issue": round(statements / n, 2),
            "round_trips_per_issue": round(trips / n, 2),
            "pool_checkouts_per_issue": round(self.checkouts / n, 2),
            "pre_ping": self.pre_ping,
            "statements": {k: round(v / n, 2) for k, v in sorted(self.statements.items())},
        }


class TimedAllocator(NumberAllocator):
    """The chassis allocator, timed: allocate() (waiting for the counter row, then the two
    statements) and what follows it until the transaction's COMMIT is done (the row stays locked
    all that time)."""

    def __init__(self, tables: ChassisTables) -> None:
        super().__init__(tables)
        self.allocating: list[float] = []
        self.after_allocation: list[float] = []

    async def allocate(
        self, session: AsyncSession, register_id: str, year: int, reference: str
    ) -> int:
        started = time.perf_counter()
        number = await super().allocate(session, register_id, year, reference)
        allocated = time.perf_counter()
        self.allocating.append(allocated - started)

        def committed(_: Any) -> None:
            self.after_allocation.append(time.perf_counter() - allocated)

        event.listen(session.sync_session, "after_commit", committed, once=True)
        return number


async def seed(settings: Settings, app_state: handlers.Services, count: int) -> list[str]:
    ids = []
    for i in range(count):
        event = DocumentFinalizedForIssuance(
            case_id=f"case-{i}",
            draft_id=f"draft-{i}",
            approved_by="ld",
            document=StoredAttachment(
                object_key="x", sha256="0" * 64, content_type="application/pdf", size=1
            ),
            TypeName="Thông báo",
            Subject="Bench",
            SignerInfo=Signer(FullName="A"),
            To=[Recipient(OrganName="Lưu: VT")],
        )
        async with app_state.uow_factory() as uow:
            await handlers.on_finalized(event, uow)
            repo = Repository(uow.session)
            t = orm.outgoing_documents
            doc_id = (
                await uow.session.execute(
                    select(t.c.outgoing_document_id).where(t.c.draft_id == event.draft_id)
                )
            ).scalar_one()
            await repo.add_attachment(
                {
                    "attachment_id": str(uuid.uuid4()),
                    "outgoing_document_id": doc_id,
                    "kind": "signed",
                    "object_key": "bench",
                    "sha256": "0" * 64,
                    "size": 1,
                    "content_type": "application/pdf",
                    "uploaded_by": "bench",
                }
            )
            await uow.commit()
        ids.append(doc_id)
    return ids


async def post_all(
    client: httpx.AsyncClient,
    paths: list[str],
    headers: dict[str, str],
    issuers: int,
    latencies: list[float],
) -> tuple[int, float, float]:
    """POST every path with ``issuers`` concurrent clients: (failures, seconds, CPU seconds)."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    failures = 0

    async def issuer() -> None:
        nonlocal failures
        while not queue.empty():
            path = queue.get_nowait()
            sent = time.perf_counter()
            r = await client.post(path, json={}, headers=headers)
            latencies.append(time.perf_counter() - sent)
            if r.status_code != 200:
                failures += 1

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(issuer() for _ in range(issuers)))
    return failures, time.perf_counter() - started, time.process_time() - cpu


async def through_service(settings: Settings, issuers: int, documents: int) -> dict[str, Any]:
    tokens = FakeTokenIssuer()
    app = create_app(settings, verifier=tokens.verifier())
    state: handlers.Services = app.state.issuance
    docs = await seed(settings, state, documents)
    allocator = TimedAllocator(orm.chassis)
    app.state.issuance = dataclasses.replace(state, numbers=allocator)
    meter = Meter(app.state.runtime.db.engine)
    headers = tokens.headers("vanthu", ["clerk"])
    latencies: list[float] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        paths = [f"/outgoing-documents/{d}/issue" for d in docs]
        meter.reset()
        failures, elapsed, cpu = await post_all(client, paths, headers, issuers, latencies)
    await app.state.runtime.db.dispose()
    numbers = documents - failures
    return {
        "numbers": numbers,
        "seconds": round(elapsed, 3),
        "per_second": round(numbers / elapsed, 1),
        "failures": failures,
        "cpu_ms_per_issue": round(cpu * 1000 / max(numbers, 1), 3),
        # Share of one core the process used (client and service): near 1, CPU-bound.
        "process_cpu_busy": round(cpu / elapsed, 3),
        # Share of the run the counter row was locked after an allocation returned (a lower
        # bound: the row is locked from the upsert): near 1, the issuers queue on the row.
        "counter_row_locked_share": round(sum(allocator.after_allocation) / elapsed, 3),
        "latency": summary_ms(latencies),
        "allocate": summary_ms(allocator.allocating),
        "allocation_to_commit": summary_ms(allocator.after_allocation),
        **meter.per_issue(numbers),
    }


async def client_floor(issuers: int, requests: int) -> dict[str, Any]:
    """The in-process client alone: the same POSTs (token, JSON body) to an ASGI app that reads
    the request and answers a document-sized JSON body, nothing else."""
    tokens = FakeTokenIssuer()
    headers = tokens.headers("vanthu", ["clerk"])
    answer = json.dumps({f"field_{i}": "x" * 20 for i in range(40)}).encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    transport = httpx.ASGITransport(app=app)
    latencies: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        paths = [f"/outgoing-documents/{uuid.uuid4()}/issue" for _ in range(requests)]
        _, elapsed, cpu = await post_all(client, paths, headers, issuers, latencies)
    return {
        "requests": requests,
        "per_second": round(requests / elapsed, 1),
        "cpu_ms_per_request": round(cpu * 1000 / requests, 3),
    }


async def raw(url: str, schema: str, register: str, issuers: int, count: int) -> dict[str, Any]:
    pool = await asyncpg.create_pool(
        url, min_size=issuers, max_size=issuers, server_settings={"search_path": schema}
    )
    year = issued_date(datetime.now(UTC)).year
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with pool.acquire() as conn, conn.transaction():
                n = await conn.fetchval(RAW_TX, register, year)
                await conn.execute(
                    "insert into allocated_numbers (register_id, year, number, reference) "
                    "values ($1, $2, $3, $4)",
                    register,
                    year,
                    n,
                    "raw",
                )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(issuers)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return {"numbers": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1)}


async def gaps_and_duplicates(url: str, schema: str, register: str) -> dict[str, int]:
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        numbers = [
            r[0]
            for r in await conn.fetch(
                "select number from allocated_numbers where register_id = $1 order by number",
                register,
            )
        ]
        doc_numbers = [
            r[0]
            for r in await conn.fetch(
                "select code_number from outgoing_documents "
                "where code_number is not null and register_id = $1",
                register,
            )
        ]
    finally:
        await conn.close()
    top = max(numbers, default=0)
    return {
        "max": top,
        "gaps": top - len(set(numbers)),
        "duplicates": len(numbers) - len(set(numbers)),
        "document_duplicates": len(doc_numbers) - len(set(doc_numbers)),
    }


async def run(
    cfg: StackConfig, env: dict[str, str], issuers: int, documents: int, raw_register: str
) -> dict[str, Any]:
    """One measurement in a throwaway schema of its own: the service, then raw PostgreSQL."""
    admin = cfg.database_url()
    schema = f"bench_issuance_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'create schema "{schema}"')
    await conn.close()
    settings = Settings(
        database_url=cfg.database_url(driver="postgresql+asyncpg"),
        database_schema=schema,
        kafka_bootstrap=cfg.kafka_bootstrap,
        s3_endpoint=cfg.s3_endpoint,
        s3_access_key=env["QLVB_ISSUANCE_S3_ACCESS_KEY"],
        s3_secret_key=env["QLVB_ISSUANCE_S3_SECRET_KEY"],
        db_pool_size=issuers,
        db_max_overflow=0,
        log_json=False,
    )
    try:
        await upgrade(MIGRATIONS, settings.database_url, search_path=schema)
        service = await through_service(settings, issuers, documents)
        raw_figure = await raw(admin, schema, raw_register, issuers, documents)
        checks = await gaps_and_duplicates(admin, schema, "VBHC")
        raw_checks = await gaps_and_duplicates(admin, schema, raw_register)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'drop schema "{schema}" cascade')
        await conn.close()
    return {
        "service": service,
        "raw_postgresql": raw_figure,
        "service_vs_raw": round(service["per_second"] / raw_figure["per_second"], 3),
        "register": checks,
        "raw_register": {"gaps": raw_checks["gaps"], "duplicates": raw_checks["duplicates"]},
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuers", type=int, default=32)
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument(
        "--single-documents",
        type=int,
        default=150,
        help="documents issued by 1 issuer (and 1 raw connection) afterwards; 0 to skip",
    )
    # Accepted for run_all.py; this benchmark is sized by --documents, not by time.
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    cfg = StackConfig.from_env()
    env = cfg.service_env("issuance")
    main_run = await run(cfg, env, args.issuers, args.documents, "RAW")
    checks = main_run["register"]
    ratio = main_run["service_vs_raw"]
    result: dict[str, Any] = {
        "issuers": args.issuers,
        "documents": args.documents,
        **main_run,
        "target_met": ratio >= 0.5 and checks["gaps"] == 0 and checks["duplicates"] == 0,
        "setup": {
            "same_concurrency": True,
            "service_pool_size": args.issuers,
            "raw_pool_size": args.issuers,
            "client_in_process": True,
            "note": (
                "the HTTP client runs in the service's process and event loop "
                "(httpx.ASGITransport); the raw figure is asyncpg without SQLAlchemy, HTTP or "
                "JSON, measured just after the service in the same schema"
            ),
        },
        "in_process_client_floor": await client_floor(args.issuers, args.documents),
    }
    if args.single_documents > 0:
        result["one_issuer"] = await run(cfg, env, 1, args.single_documents, "RAW1")
    result["environment"] = {"cores": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
