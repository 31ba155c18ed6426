"""Benchmark: N concurrent issuers on one outgoing register.

Prints one JSON object: numbers/s through the issuance service's HTTP API (POST
/outgoing-documents/{id}/issue, in-process over httpx.ASGITransport, each call one transaction
with the counter row, the document, the outbox rows and the register book) and the raw PostgreSQL
figure for the same counter-row transaction (asyncpg directly, same concurrency, same run), with
gaps and duplicates counted. Runs against the dev stack (QLVB_PORT_BASE, default 25000) in a
throwaway schema; the outbox relay is not started, so Kafka is not involved.

    .venv/bin/python bench/issuance_numbering.py [--issuers 32] [--documents 600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from qlvb_chassis.migrations import upgrade
from qlvb_chassis.testing import FakeTokenIssuer
from qlvb_contracts.edxml import Signer
from qlvb_contracts.payloads.common import Recipient, StoredAttachment
from qlvb_contracts.payloads.routing import DocumentFinalizedForIssuance
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
            doc = [d for d in await repo.documents(["queued"]) if d["draft_id"] == event.draft_id]
            doc_id = doc[0]["outgoing_document_id"]
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


async def through_service(settings: Settings, issuers: int, documents: int) -> dict[str, object]:
    tokens = FakeTokenIssuer()
    app = create_app(settings, verifier=tokens.verifier())
    state: handlers.Services = app.state.issuance
    docs = await seed(settings, state, documents)
    headers = tokens.headers("vanthu", ["clerk"])
    queue: asyncio.Queue[str] = asyncio.Queue()
    for d in docs:
        queue.put_nowait(d)
    failures = 0
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def issuer() -> None:
            nonlocal failures
            while not queue.empty():
                doc_id = queue.get_nowait()
                r = await client.post(
                    f"/outgoing-documents/{doc_id}/issue", json={}, headers=headers
                )
                if r.status_code != 200:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(issuer() for _ in range(issuers)))
        elapsed = time.perf_counter() - started
    await app.state.runtime.db.dispose()
    return {
        "numbers": documents - failures,
        "seconds": round(elapsed, 3),
        "per_second": round((documents - failures) / elapsed, 1),
        "failures": failures,
    }


async def raw(url: str, schema: str, issuers: int, count: int) -> dict[str, object]:
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
                n = await conn.fetchval(RAW_TX, "RAW", year)
                await conn.execute(
                    "insert into allocated_numbers (register_id, year, number, reference) "
                    "values ($1, $2, $3, $4)",
                    "RAW",
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
                "select code_number from outgoing_documents where code_number is not null"
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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuers", type=int, default=32)
    parser.add_argument("--documents", type=int, default=600)
    # Accepted for run_all.py; this benchmark is sized by --documents, not by time.
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    cfg = StackConfig.from_env()
    admin = cfg.database_url()
    schema = f"bench_issuance_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'create schema "{schema}"')
    await conn.close()
    env = cfg.service_env("issuance")
    settings = Settings(
        database_url=cfg.database_url(driver="postgresql+asyncpg"),
        database_schema=schema,
        kafka_bootstrap=cfg.kafka_bootstrap,
        s3_endpoint=cfg.s3_endpoint,
        s3_access_key=env["QLVB_ISSUANCE_S3_ACCESS_KEY"],
        s3_secret_key=env["QLVB_ISSUANCE_S3_SECRET_KEY"],
        db_pool_size=args.issuers,
        db_max_overflow=0,
        log_json=False,
    )
    try:
        await upgrade(MIGRATIONS, settings.database_url, search_path=schema)
        service = await through_service(settings, args.issuers, args.documents)
        raw_figure = await raw(admin, schema, args.issuers, args.documents)
        checks = await gaps_and_duplicates(admin, schema, "VBHC")
        raw_checks = await gaps_and_duplicates(admin, schema, "RAW")
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'drop schema "{schema}" cascade')
        await conn.close()
    ratio = float(service["per_second"]) / float(raw_figure["per_second"])  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "issuers": args.issuers,
                "documents": args.documents,
                "service": service,
                "raw_postgresql": raw_figure,
                "service_vs_raw": round(ratio, 3),
                "target_met": ratio >= 0.5 and checks["gaps"] == 0 and checks["duplicates"] == 0,
                "register": checks,
                "raw_register": {
                    "gaps": raw_checks["gaps"],
                    "duplicates": raw_checks["duplicates"],
                },
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
