"""The service process is killed (SIGKILL) while clerks issue concurrently; after a restart the
numbers of the register are still 1..N with no gap and no duplicate, and the events agree."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qlvb_chassis.db import Database, create_engine
from qlvb_chassis.http.auth import public_jwk
from qlvb_chassis.migrations import upgrade
from qlvb_issuance.adapters.repository import Repository
from qlvb_issuance.app import MIGRATIONS
from qlvb_issuance.domain.model import issued_date
from qlvb_issuance.service_layer import handlers
from qlvb_stack.stack import Stack
from qlvb_stack.testing import IsolatedService, isolated_service

from .helpers import FINANCE, finalized, identity_events, produce, read_envelopes

pytestmark = pytest.mark.stack

N = 48


@contextlib.contextmanager
def jwks_server(key: Ed25519PrivateKey, kid: str) -> Iterator[str]:
    """identity's JWKS endpoint, as far as the service process needs it."""
    body = json.dumps({"keys": [public_jwk(kid, key.public_key())]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "qlvb_issuance"], env=env, stdout=out, stderr=out
        )


def tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, tail(log)
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError("service not ready: " + tail(log))


@pytest.fixture
async def iso(stack: Stack) -> AsyncIterator[IsolatedService]:
    """The schema and topic prefix of the service process (dropped after the test)."""
    async with isolated_service(stack, "issuance") as isolated:
        yield isolated


async def test_killed_mid_issue_no_gap_no_duplicate(
    stack: Stack, iso: IsolatedService, tmp_path: Path
) -> None:
    schema, prefix = iso.schema, iso.prefix
    admin_url = stack.cfg.database_url()
    url = stack.cfg.database_url(driver="postgresql+asyncpg")
    await produce(stack.cfg.kafka_bootstrap, prefix + "identity.events", identity_events())

    # The queue, prepared the way the consumer and the upload would leave it.
    await upgrade(MIGRATIONS, url, search_path=schema)
    db = Database(create_engine(url, search_path=schema))
    docs: list[str] = []
    for _ in range(N):
        event = finalized(type_name="Thông báo", notation=None, responds_to_electronic=False)
        async with db.uow() as uow:
            await handlers.on_finalized(event, uow)
            repo = Repository(uow.session)
            rows = [d for d in await repo.documents(["queued"]) if d["draft_id"] == event.draft_id]
            doc = rows[0]
            await repo.add_attachment(
                {
                    "attachment_id": str(uuid.uuid4()),
                    "outgoing_document_id": doc["outgoing_document_id"],
                    "kind": "signed",
                    "object_key": f"issued/{doc['outgoing_document_id']}/x",
                    "sha256": "0" * 64,
                    "size": 10,
                    "content_type": "application/pdf",
                    "uploaded_by": "vanthu",
                }
            )
            await uow.commit()
        docs.append(doc["outgoing_document_id"])
    key, kid = Ed25519PrivateKey.generate(), "crash-test"
    now = datetime.now(UTC)
    claims = {
        "iss": "qlvb-identity",
        "aud": "qlvb",
        "sub": "vanthu",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=10)).timestamp()),
        "roles": ["clerk"],
        "unit": "HCTC",
        "delegations": [],
    }
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "issuance.log"
    body = {"To": [{"OrganName": "x", "OrganId": FINANCE}, {"OrganName": "x", "unit_id": "KT"}]}

    with jwks_server(key, kid) as identity_url:
        s3 = stack.cfg.service_env("issuance")
        env = {
            **os.environ,
            **s3,
            "QLVB_ISSUANCE_DATABASE_URL": url,
            "QLVB_ISSUANCE_DATABASE_SCHEMA": schema,
            "QLVB_ISSUANCE_TOPIC_PREFIX": prefix,
            "QLVB_ISSUANCE_HTTP_PORT": str(port),
            "QLVB_ISSUANCE_IDENTITY_URL": identity_url,
            "QLVB_ISSUANCE_OUTBOX_POLL_INTERVAL_S": "0.05",
            "QLVB_ISSUANCE_LOG_LEVEL": "WARNING",
        }
        proc = start(env, log)
        try:
            await wait_ready(base, proc, log)
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as client:

                async def issue(doc_id: str) -> int:
                    response = await client.post(f"/outgoing-documents/{doc_id}/issue", json=body)
                    return response.status_code

                tasks = [asyncio.create_task(issue(d)) for d in docs]
                # Kill once a few went through and the rest are in flight.
                deadline = time.monotonic() + 20
                while sum(t.done() for t in tasks) < 5 and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            lost = [o for o in outcomes if not isinstance(o, int)]
            assert lost, "the kill should have cut some requests off"
            proc = start(env, log)
            await wait_ready(base, proc, log)
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as client:
                retried = await asyncio.gather(
                    *(client.post(f"/outgoing-documents/{d}/issue", json=body) for d in docs)
                )
                # Committed before the kill (the answer was lost) → 409 already issued.
                assert {r.status_code for r in retried} <= {200, 409}, [r.text for r in retried]
                final = [(await client.get(f"/outgoing-documents/{d}")).json() for d in docs]
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(15)
    assert {d["status"] for d in final} == {"issued"}
    assert sorted(d["CodeNumber"] for d in final) == list(range(1, N + 1))
    year = issued_date(datetime.now(UTC)).year
    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch(
            f'select number, voided_at from "{schema}".allocated_numbers '
            "where register_id = 'VBHC' and year = $1 order by number",
            year,
        )
        counter = await conn.fetchval(
            f'select last_number from "{schema}".number_counters '
            "where register_id = 'VBHC' and year = $1",
            year,
        )
    finally:
        await conn.close()
    assert [r["number"] for r in rows] == list(range(1, N + 1))
    assert counter == N
    # The events agree: each number issued once (a relay replay repeats a message_id only).
    envelopes = await read_envelopes(
        stack.cfg.kafka_bootstrap,
        prefix + "issuance.outgoing-documents",
        until=lambda es: len({e.message_id for e in es if e.type.endswith("issued")}) >= N,
    )
    issued = {e.message_id: e.payload["CodeNumber"] for e in envelopes if e.type.endswith("issued")}
    assert sorted(issued.values()) == list(range(1, N + 1))
    await db.dispose()
