"""Intake end to end on the real stack: clerks over HTTP, agencies over Kafka.

One intake service for the module (its own schema, topic prefix and fake token issuer); agencies'
messages and identity's events are produced with confluent-kafka, as an outside party would, and
what intake publishes is read back from the topics.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from confluent_kafka import Producer
from minio import Minio

from qlvb_chassis.calendar import to_office_time
from qlvb_chassis.testing import FakeTokenIssuer
from qlvb_contracts.envelope import Envelope
from qlvb_contracts.payloads.exchange_inbound import ExchangeDocument
from qlvb_contracts.payloads.identity import AgencyChanged, UserChanged
from qlvb_intake.app import create_app
from qlvb_intake.settings import Settings
from qlvb_stack.stack import Stack
from qlvb_stack.testing import isolated_service, serve_in_process

pytestmark = pytest.mark.stack

SENDER = "000.00.12.H41"
INACTIVE_SENDER = "000.00.13.H41"
STRANGER = "000.00.99.H41"
OFFICE = "000.00.00.H41"
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
YEAR = to_office_time(datetime.now(UTC)).year
TODAY = to_office_time(datetime.now(UTC)).date()
_seq = itertools.count(100)


@dataclass
class Svc:
    client: httpx.AsyncClient
    issuer: FakeTokenIssuer
    prefix: str
    bootstrap: str
    schema: str
    admin_url: str
    minio: Minio
    seen: dict[str, list[Any]] = field(default_factory=dict)

    def headers(self, user: str, *roles: str, **extra: str) -> dict[str, str]:
        return self.issuer.headers(user, roles) | extra

    @property
    def clerk(self) -> dict[str, str]:
        return self.headers("vanthu", "clerk")

    @property
    def admin(self) -> dict[str, str]:
        return self.headers("qt.hctc", "records_admin")

    def produce(
        self, topic: str, value: bytes, *, key: str, content_type: str = "application/json"
    ) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all"})
        producer.produce(
            self.prefix + topic, value=value, key=key, headers=[("content-type", content_type)]
        )
        assert producer.flush(15) == 0

    async def wait_for(
        self, topic: str, pred: Callable[[Any], bool], *, count: int = 1, within: float = 20
    ) -> list[Any]:
        deadline = time.monotonic() + within
        while True:
            found = [r for r in self.seen.get(topic, []) if pred(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.admin_url, server_settings={"search_path": self.schema})
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


async def _collect(svc: Svc, topics: list[str]) -> None:
    consumer = AIOKafkaConsumer(
        *[svc.prefix + t for t in topics],
        bootstrap_servers=svc.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    topic = r.topic.removeprefix(svc.prefix)
                    headers = {k: v for k, v in r.headers}
                    if topic.endswith(".dlq"):
                        item: Any = {"headers": headers, "value": r.value, "key": r.key}
                    else:
                        item = Envelope.from_bytes(r.value)
                    svc.seen.setdefault(topic, []).append(item)
    finally:
        await consumer.stop()


def identity_event(payload: Any) -> bytes:
    return Envelope.new(payload=payload, producer="identity").to_bytes()


@pytest.fixture(scope="module")
async def svc(stack: Stack) -> AsyncIterator[Svc]:
    sec = stack.cfg.secrets()
    issuer = FakeTokenIssuer()
    async with isolated_service(stack, "intake") as iso:
        settings = Settings(
            **{
                **iso.settings,
                "inbound_max_bytes": 200_000,
                "db_pool_size": 20,
                "db_max_overflow": 20,
            }
        )
        app = create_app(settings, verifier=issuer.verifier())
        async with serve_in_process(app, base_url="http://intake") as client:
            service = Svc(
                client=client,
                issuer=issuer,
                prefix=iso.prefix,
                bootstrap=iso.bootstrap,
                schema=iso.schema,
                admin_url=stack.cfg.database_url(),
                minio=Minio(
                    stack.cfg.s3_endpoint,
                    access_key=sec.s3_admin_access_key,
                    secret_key=sec.s3_admin_secret_key,
                    secure=False,
                ),
            )
            collector = asyncio.create_task(
                _collect(
                    service,
                    ["intake.incoming-documents", "exchange.status", "exchange.inbound.dlq"],
                )
            )
            for n, (user, roles) in enumerate(
                [
                    ("cv.nguyenvana", ["specialist"]),
                    ("cv.tranthib", ["specialist"]),
                    ("ld.levanc", ["office_leader"]),
                    ("vanthu", ["clerk"]),
                ]
            ):
                service.produce(
                    "identity.events",
                    identity_event(
                        UserChanged(
                            user_id=user,
                            revision=1,
                            username=user,
                            full_name=f"Người dùng {n}",
                            unit_id="HCTC",
                            roles=roles,
                            active=True,
                        )
                    ),
                    key=user,
                )
            for organ, active in ((SENDER, True), (INACTIVE_SENDER, False)):
                service.produce(
                    "identity.events",
                    identity_event(
                        AgencyChanged(
                            OrganId=organ, revision=1, OrganName="Sở Tài chính", active=active
                        )
                    ),
                    key=organ,
                )
            deadline = time.monotonic() + 30
            while len(await service.sql("select 1 from users")) < 4 or not await service.sql(
                "select 1 from agencies where organ_id = $1", INACTIVE_SENDER
            ):
                assert time.monotonic() < deadline, "identity events not consumed"
                await asyncio.sleep(0.1)
            for register_id in (f"VBD-{YEAR}", f"CONC-{YEAR}"):
                created = await client.post(
                    "/registers",
                    json={"id": register_id, "year": YEAR, "name": "Sổ văn bản đến"},
                    headers=service.admin,
                )
                assert created.status_code == 201, created.text
            yield service
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)


def paper(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    return {
        "register_id": f"VBD-{YEAR}",
        "first_handlers": ["cv.nguyenvana"],
        "OrganName": "Sở Xây dựng",
        "CodeNumber": str(n),
        "CodeNotation": "SXD-QLXD",
        "PromulgationDate": TODAY.isoformat(),
        "TypeName": "Công văn",
        "Subject": f"V/v cấp phép xây dựng số {n}",
        "SignerInfo": {"Position": "Giám đốc", "FullName": "Lê Văn Dũng"},
        "Priority": 1,
        "ToPlaces": ["UBND thành phố"],
    } | overrides


async def post_paper(
    svc: Svc,
    metadata: dict[str, Any],
    files: list[tuple[str, bytes]] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    parts = [
        ("files", (name, data, "application/octet-stream"))
        for name, data in (files if files is not None else [("scan.pdf", PDF)])
    ]
    return await svc.client.post(
        "/incoming-documents",
        data={"metadata": json.dumps(metadata)},
        files=parts or None,
        headers=headers or svc.clerk,
    )


async def count_documents(svc: Svc) -> int:
    return len(await svc.sql("select 1 from incoming_documents"))


# --- registers --------------------------------------------------------------------------------


async def test_registers_are_an_admin_catalog(svc: Svc) -> None:
    body = {"id": f"VBD-PHU-{YEAR}", "year": YEAR, "name": "Sổ văn bản đến (phụ)"}
    forbidden = await svc.client.post("/registers", json=body, headers=svc.clerk)
    assert forbidden.status_code == 403
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await svc.client.post("/registers", json=body, headers=svc.admin | key)
    again = await svc.client.post("/registers", json=body, headers=svc.admin | key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    clash = await svc.client.post("/registers", json=body, headers=svc.admin)
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    listed = await svc.client.get("/registers", params={"year": YEAR}, headers=svc.clerk)
    assert {r["id"] for r in listed.json()} >= {f"VBD-{YEAR}", f"VBD-PHU-{YEAR}"}

    closed = await svc.client.patch(
        f"/registers/VBD-PHU-{YEAR}", json={"active": False}, headers=svc.admin
    )
    assert closed.json()["active"] is False
    refused = await post_paper(svc, paper(register_id=f"VBD-PHU-{YEAR}"))
    assert refused.status_code == 422
    assert "closed" in refused.json()["detail"]
    old_year = await svc.client.post(
        "/registers", json={"id": "VBD-2001", "year": 2001, "name": "Sổ cũ"}, headers=svc.admin
    )
    assert old_year.status_code == 201
    wrong_year = await post_paper(svc, paper(register_id="VBD-2001"))
    assert wrong_year.status_code == 422
    assert "2001" in wrong_year.json()["detail"]


# --- paper ------------------------------------------------------------------------------------


async def test_clerk_registers_a_paper_document(svc: Svc) -> None:
    metadata = paper(first_handlers=["cv.nguyenvana", "ld.levanc"], notes="Bản gốc kèm hồ sơ")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    scans = [("scan-1.pdf", PDF), ("scan-2.pdf", PDF + b"\n%second")]
    created = await post_paper(svc, metadata, files=scans, headers=svc.clerk | key)
    assert created.status_code == 201, created.text
    doc = created.json()
    assert doc["status"] == "registered"
    assert doc["channel"] == "paper"
    assert doc["ArrivalNumber"] >= 1
    assert doc["year"] == YEAR
    assert doc["first_handlers"] == ["cv.nguyenvana", "ld.levanc"]
    assert doc["backfilled"] is False
    assert doc["sla_deadline"] is not None
    assert doc["sla_met"] is True
    assert doc["registered_by"] == "vanthu"
    attachment, second = doc["attachments"]
    assert {attachment["AttachmentName"], second["AttachmentName"]} == {"scan-1.pdf", "scan-2.pdf"}
    if attachment["AttachmentName"] != "scan-1.pdf":
        attachment, second = second, attachment
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert attachment["content_type"] == "application/pdf"

    replay = await post_paper(svc, metadata, files=scans, headers=svc.clerk | key)
    assert replay.status_code == 201
    assert replay.json()["id"] == doc["id"]
    assert replay.json()["ArrivalNumber"] == doc["ArrivalNumber"]

    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: (
            e.type == "incoming_document.registered"
            and e.payload["incoming_document_id"] == doc["id"]
        ),
    )
    assert event.payload["first_handlers"] == ["cv.nguyenvana", "ld.levanc"]
    assert event.payload["ArrivalNumber"] == doc["ArrivalNumber"]
    assert event.payload["channel"] == "paper"
    assert event.payload["sla_met"] is True
    assert event.actor.user == "vanthu"
    assert [a["sha256"] for a in event.payload["attachments"]] == [
        a["sha256"] for a in doc["attachments"]
    ]

    # Metadata for all staff; the file through a short-lived presigned URL after the check.
    specialist = svc.headers("cv.tranthib", "specialist")
    seen = await svc.client.get(f"/incoming-documents/{doc['id']}", headers=specialist)
    assert seen.json()["Subject"] == metadata["Subject"]
    assert seen.json() == doc  # the 201's body is built from the inserted rows: the same view
    url = await svc.client.get(
        f"/incoming-documents/{doc['id']}/attachments/{attachment['id']}/url", headers=specialist
    )
    assert url.status_code == 200
    async with httpx.AsyncClient() as outside:
        downloaded = await outside.get(url.json()["url"])
    assert downloaded.content == PDF
    outsider = svc.headers("it.someone", "it_admin")
    denied = await svc.client.get(
        f"/incoming-documents/{doc['id']}/attachments/{attachment['id']}/url", headers=outsider
    )
    assert denied.status_code == 403
    anonymous = await svc.client.get(f"/incoming-documents/{doc['id']}")
    assert anonymous.status_code == 401

    audit = await svc.client.get("/incoming-documents/audit-log", headers=svc.admin)
    assert any(
        e["subject_id"] == doc["id"] and e["action"] == "incoming_document.registered"
        for e in audit.json()
    )


async def test_delegated_registration_records_both_users(svc: Svc) -> None:
    delegation = {
        "principal": "vanthu",
        "scopes": ["clerk"],
        "valid_until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    headers = {
        "Authorization": "Bearer "
        + svc.issuer.token("cv.tranthib", ["specialist"], delegations=[delegation])
    }
    created = await post_paper(svc, paper(), headers=headers)
    assert created.status_code == 201, created.text
    doc = created.json()
    assert doc["registered_by"] == "cv.tranthib"
    assert doc["registered_on_behalf_of"] == "vanthu"
    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: e.payload.get("incoming_document_id") == doc["id"],
    )
    assert (event.actor.user, event.actor.on_behalf_of) == ("cv.tranthib", "vanthu")


async def test_backfilled_entry_keeps_the_true_times(svc: Svc) -> None:
    received = datetime.now(UTC) - timedelta(days=3)
    registered = received + timedelta(minutes=30)
    created = await post_paper(
        svc,
        paper(received_at=received.isoformat(), registered_at=registered.isoformat()),
    )
    assert created.status_code == 201, created.text
    doc = created.json()
    assert doc["backfilled"] is True
    assert datetime.fromisoformat(doc["ArrivalDate"]) == received
    assert datetime.fromisoformat(doc["registered_at"]) == registered
    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: e.payload.get("incoming_document_id") == doc["id"],
    )
    assert event.payload["backfilled"] is True
    assert event.occurred_at == registered


@pytest.mark.parametrize(
    ("change", "files", "needle"),
    [
        ({"Subject": ""}, None, "Subject"),
        ({"Subject": "x" * 501}, None, "Subject"),
        ({"OrganName": None}, None, "OrganName"),
        ({"CodeNotation": "Q" * 31}, None, "CodeNotation"),
        ({"first_handlers": []}, None, "first_handlers"),
        ({"first_handlers": ["nobody"]}, None, "nobody"),
        ({"register_id": "NO-SUCH"}, None, "NO-SUCH"),
        ({"received_at": "2999-01-01T00:00:00+07:00"}, None, "future"),
        ({}, [], "scan"),
        ({}, [("note.txt", "Phụ lục".encode())], "PDF, TIFF, PNG or JPEG"),
        ({}, [("virus.pdf", b"MZ\x90\x00")], "PDF, TIFF, PNG or JPEG"),
        ({"confidentiality": "hơi mật"}, None, "confidentiality"),
    ],
)
async def test_bad_paper_input_is_a_422_and_leaves_nothing(
    svc: Svc, change: dict[str, Any], files: list[tuple[str, bytes]] | None, needle: str
) -> None:
    before = await count_documents(svc)
    metadata = {k: v for k, v in (paper() | change).items() if v is not None}
    response = await post_paper(svc, metadata, files)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert needle in response.text
    assert await count_documents(svc) == before


async def test_metadata_must_be_json(svc: Svc) -> None:
    response = await svc.client.post(
        "/incoming-documents", data={"metadata": "{oops"}, headers=svc.clerk
    )
    assert response.status_code == 422
    missing = await svc.client.post("/incoming-documents", headers=svc.clerk)
    assert missing.status_code == 422
    assert (await post_paper(svc, paper(), headers=svc.admin)).status_code == 403


async def test_duplicates_are_warned_then_registered_when_confirmed(svc: Svc) -> None:
    metadata = paper(CodeNumber="077", OrganName="Sở Y tế", CodeNotation="SYT-KHTC")
    first = await post_paper(svc, metadata)
    assert first.status_code == 201
    again = paper(CodeNumber="77", OrganName="sở y tế", CodeNotation="SYT-KHTC")
    warned = await post_paper(svc, again)
    assert warned.status_code == 409, warned.text
    [duplicate] = warned.json()["duplicates"]
    assert duplicate["id"] == first.json()["id"]
    assert duplicate["ArrivalNumber"] == first.json()["ArrivalNumber"]
    confirmed = await post_paper(svc, again | {"confirm_duplicate": True})
    assert confirmed.status_code == 201
    assert confirmed.json()["ArrivalNumber"] > first.json()["ArrivalNumber"]

    document_id = f"{SENDER},{TODAY:%Y/%m/%d},{next(_seq)}/STC-QLNS"
    by_id = await post_paper(svc, paper(DocumentId=document_id))
    assert by_id.status_code == 201
    other = await post_paper(svc, paper(DocumentId=document_id))
    assert other.status_code == 409


async def test_malformed_document_is_returned_with_a_slip(svc: Svc) -> None:
    metadata = paper(has_seal=False, other_defects=["Mực dấu không rõ ràng"])
    del metadata["CodeNumber"]
    returned = await post_paper(svc, metadata)
    assert returned.status_code == 201, returned.text
    doc = returned.json()
    assert doc["status"] == "returned"
    assert doc["ArrivalNumber"] is None
    assert "Văn bản không có số" in doc["return"]["reason"]
    assert "Văn bản không đóng dấu" in doc["return"]["reason"]
    slip = await svc.client.get(
        f"/incoming-documents/{doc['id']}/return-slip/url", headers=svc.clerk
    )
    assert slip.status_code == 200
    async with httpx.AsyncClient() as outside:
        pdf = (await outside.get(slip.json()["url"])).content
    assert pdf.startswith(b"%PDF-")
    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: (
            e.type == "incoming_document.returned"
            and e.payload["incoming_document_id"] == doc["id"]
        ),
    )
    assert event.payload["return_slip_object_key"]
    assert event.payload["channel"] == "paper"


@pytest.mark.parametrize(
    ("change", "category"),
    [
        ({"confidentiality": "Tối mật"}, "confidential"),
        ({"complaint": True}, "complaint"),
        ({"TypeName": "Đơn", "Subject": "Đơn tố cáo cán bộ"}, "complaint"),
    ],
)
async def test_out_of_scope_documents_are_refused_and_nothing_is_kept(
    svc: Svc, change: dict[str, Any], category: str
) -> None:
    before = await count_documents(svc)
    objects_before = len(list(svc.minio.list_objects("qlvb-intake", recursive=True)))
    metadata = paper(Subject="Nội dung bí mật không được lưu") | change
    response = await post_paper(svc, metadata)
    assert response.status_code == 422
    body = response.json()
    assert body["category"] == category
    assert "Điều 2" in body["detail"]
    assert await count_documents(svc) == before
    assert len(list(svc.minio.list_objects("qlvb-intake", recursive=True))) == objects_before
    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: (
            e.type == "incoming_document.rejected"
            and e.payload["incoming_document_id"] == body["refusal_id"]
        ),
    )
    assert event.payload["category"] == category
    assert "bí mật không được lưu" not in event.to_bytes().decode()
    audit = await svc.sql("select details from audit_log where subject_id = $1", body["refusal_id"])
    assert len(audit) == 1
    assert "bí mật" not in audit[0]["details"]
    metrics = (await svc.client.get("/metrics")).text
    assert f'qlvb_intake_documents_refused_total{{category="{category}",channel="paper"}}' in (
        metrics
    )


async def test_32_concurrent_registrations_get_1_to_32(svc: Svc) -> None:
    results = await asyncio.gather(
        *(post_paper(svc, paper(register_id=f"CONC-{YEAR}")) for _ in range(32))
    )
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.is_error]
    assert sorted(r.json()["ArrivalNumber"] for r in results) == list(range(1, 33))
    book = await svc.client.get(f"/registers/CONC-{YEAR}/book", headers=svc.clerk)
    assert [line["ArrivalNumber"] for line in book.json()["lines"]] == list(range(1, 33))


# --- agencies over Kafka ----------------------------------------------------------------------

EDXML = """<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{ns}">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>{sender}</OrganId><OrganName>Sở Tài chính</OrganName></From>
        <To><OrganId>{to}</OrganId><OrganName>Ủy ban nhân dân thành phố</OrganName></To>
        <DocumentId>{sender},{day},{number}/STC-QLNS</DocumentId>
        <Code><CodeNumber>{number}</CodeNumber><CodeNotation>STC-QLNS</CodeNotation></Code>
        <PromulgationInfo><Place>Thành phố</Place><PromulgationDate>{day}</PromulgationDate>
        </PromulgationInfo>
        <DocumentType><Type>18</Type><TypeName>Công văn</TypeName></DocumentType>
        {subject}
        <SignerInfo><Position>Giám đốc</Position><FullName>Nguyễn Thị Thu Hà</FullName></SignerInfo>
        <DueDate>{day}</DueDate>
        <OtherInfo><Priority>2</Priority><PageAmount>3</PageAmount></OtherInfo>
      </MessageHeader>
      <TraceHeaderList>
        <Bussiness><BussinessDocType>{kind}</BussinessDocType>
        <BussinessDocReason>{reason}</BussinessDocReason></Bussiness>
      </TraceHeaderList>
    </edXMLHeader>
    <edXMLBody><edXMLManifest>
      <Reference><ContentId>cv-{number}</ContentId><ContentType>application/pdf</ContentType>
      <AttachmentName>{number}-STC-QLNS.pdf</AttachmentName></Reference>
    </edXMLManifest></edXMLBody>
  </edXMLEnvelope>
  <AttachmentEncoded><Attachment>
    <ContentId>cv-{number}</ContentId><ContentType>application/pdf</ContentType>
    <ContentTransferEncoded>{content}</ContentTransferEncoded>
  </Attachment></AttachmentEncoded>
</edXML>
"""


def edxml(
    number: int,
    *,
    sender: str = SENDER,
    to: str = OFFICE,
    kind: int = 0,
    subject: str | None = "V/v dự toán ngân sách năm 2026",
    content: bytes = PDF,
    ns: str = "http://www.mic.gov.vn/TBT/QCVN_102_2016",
) -> bytes:
    import base64

    return EDXML.format(
        ns=ns,
        sender=sender,
        to=to,
        day=f"{TODAY:%Y/%m/%d}",
        number=number,
        kind=kind,
        reason="Lý do nghiệp vụ",
        subject=f"<Subject>{subject}</Subject>" if subject is not None else "",
        content=base64.b64encode(content).decode(),
    ).encode()


def document_id(number: int, sender: str = SENDER) -> str:
    return f"{sender},{TODAY:%Y/%m/%d},{number}/STC-QLNS"


def send_edxml(svc: Svc, value: bytes, key: str = SENDER) -> None:
    svc.produce("exchange.inbound", value, key=key, content_type="application/edxml+xml")


async def inbox_document(svc: Svc, number: int, within: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = await svc.sql(
            "select id from incoming_documents where document_id = $1", document_id(number)
        )
        if rows:
            got = await svc.client.get(f"/incoming-documents/{rows[0]['id']}", headers=svc.clerk)
            return dict(got.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"document {number} never reached the inbox")


def statuses(svc: Svc, number: int) -> Callable[[Any], bool]:
    return lambda e: e.payload["ResponseFor"].get("DocumentId") == document_id(number)


async def test_agency_edxml_lands_in_the_inbox_and_is_registered_with_one_action(
    svc: Svc,
) -> None:
    number = next(_seq)
    send_edxml(svc, edxml(number))
    doc = await inbox_document(svc, number)
    assert doc["status"] == "received"
    assert doc["channel"] == "electronic"
    assert doc["Subject"] == "V/v dự toán ngân sách năm 2026"
    assert doc["Priority"] == 2
    assert doc["ArrivalNumber"] is None
    [received] = await svc.wait_for("exchange.status", statuses(svc, number))
    assert received.payload["StatusCode"] == "01"
    assert received.key == SENDER
    inbox = await svc.client.get("/electronic-inbox", headers=svc.clerk)
    assert doc["id"] in {d["id"] for d in inbox.json()["items"]}
    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: (
            e.type == "incoming_document.received"
            and e.payload["incoming_document_id"] == doc["id"]
        ),
    )
    assert event.payload["DocumentId"] == document_id(number)

    bad = await svc.client.post(
        f"/incoming-documents/{doc['id']}/register",
        json={"register_id": f"VBD-{YEAR}", "first_handlers": []},
        headers=svc.clerk,
    )
    assert bad.status_code == 422
    registered = await svc.client.post(
        f"/incoming-documents/{doc['id']}/register",
        json={"register_id": f"VBD-{YEAR}", "first_handlers": ["cv.tranthib"]},
        headers=svc.clerk | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert registered.status_code == 200, registered.text
    body = registered.json()
    assert body["status"] == "registered"
    assert body["ArrivalNumber"] >= 1
    assert body["Subject"] == doc["Subject"]
    twice = await svc.client.post(
        f"/incoming-documents/{doc['id']}/register",
        json={"register_id": f"VBD-{YEAR}", "first_handlers": ["cv.tranthib"]},
        headers=svc.clerk,
    )
    assert twice.status_code == 409
    done = await svc.wait_for("exchange.status", statuses(svc, number), count=2)
    assert [s.payload["StatusCode"] for s in done] == ["01", "03"]
    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: (
            e.type == "incoming_document.registered"
            and e.payload["incoming_document_id"] == doc["id"]
        ),
    )
    assert event.payload["channel"] == "electronic"
    assert event.payload["DocumentId"] == document_id(number)
    assert event.payload["first_handlers"] == ["cv.tranthib"]
    url = await svc.client.get(
        f"/incoming-documents/{doc['id']}/attachments/{doc['attachments'][0]['id']}/url",
        headers=svc.headers("cv.tranthib", "specialist"),
    )
    async with httpx.AsyncClient() as outside:
        assert (await outside.get(url.json()["url"])).content == PDF

    # The agency's exchange hub sends it again: no second document, the status again.
    send_edxml(svc, edxml(number))
    again = await svc.wait_for("exchange.status", statuses(svc, number), count=3)
    assert [s.payload["StatusCode"] for s in again] == ["01", "03", "03"]
    rows = await svc.sql(
        "select 1 from incoming_documents where document_id = $1", document_id(number)
    )
    assert len(rows) == 1


async def test_json_package_with_claim_checked_attachment(svc: Svc) -> None:
    number = next(_seq)
    big = PDF + b"%" + b"x" * 300_000  # larger than the message cap: must go by claim-check
    key = f"000.00.12.H41/{uuid.uuid4().hex}"
    svc.minio.put_object("qlvb-inbound", key, io.BytesIO(big), len(big))
    header = json.loads(
        Envelope.from_bytes(
            (
                __import__("pathlib").Path(__file__).parents[3]
                / "contracts/examples/exchange.inbound/exchange_document.v1.json"
            ).read_bytes()
        ).model_dump_json()
    )["payload"]
    header |= {
        "DocumentId": document_id(number),
        "Code": {"CodeNumber": str(number), "CodeNotation": "STC-QLNS"},
        "PromulgationInfo": {"PromulgationDate": TODAY.isoformat()},
        "attachments": [
            {
                "kind": "claim_check",
                "AttachmentName": "du-toan.pdf",
                "bucket": "qlvb-inbound",
                "object_key": key,
                "sha256": hashlib.sha256(big).hexdigest(),
                "size": len(big),
                "content_type": "application/pdf",
            }
        ],
    }
    package = ExchangeDocument.model_validate(header)
    svc.produce(
        "exchange.inbound",
        Envelope.new(payload=package, producer=SENDER).to_bytes(),
        key=SENDER,
    )
    doc = await inbox_document(svc, number)
    [attachment] = doc["attachments"]
    assert attachment["origin"] == "claim_check"
    assert attachment["sha256"] == hashlib.sha256(big).hexdigest()
    assert doc["source_format"] == "exchange_document"
    [status] = await svc.wait_for("exchange.status", statuses(svc, number))
    assert status.payload["StatusCode"] == "01"


async def _expect_rejection(
    svc: Svc, value: bytes, *, number: int | None, reason: str, key: str = SENDER
) -> None:
    before = await count_documents(svc)
    dlq_before = len(svc.seen.get("exchange.inbound.dlq", []))
    status_before = len(svc.seen.get("exchange.status", []))
    send_edxml(svc, value, key=key)
    [dead] = (await svc.wait_for("exchange.inbound.dlq", lambda _: True, count=dlq_before + 1))[
        dlq_before:
    ]
    assert reason in dead["headers"]["dlq-error"].decode()
    if key != "not-an-organ":
        found = await svc.wait_for("exchange.status", lambda _: True, count=status_before + 1)
        status = found[status_before]
        assert status.payload["StatusCode"] == "02"
        assert reason in status.payload["Description"]
        assert status.key == key
        if number is not None:
            assert status.payload["ResponseFor"]["DocumentId"] == document_id(number, key)
    assert await count_documents(svc) == before


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda n: edxml(n, sender=STRANGER), "not in the agency directory"),
        (lambda n: edxml(n, sender=INACTIVE_SENDER), "not in the agency directory"),
        (lambda n: edxml(n, to="000.00.77.H41"), "not addressed"),
        (lambda n: edxml(n, subject=None), "missing required field"),
        (lambda n: edxml(n, content=b"MZ\x90\x00"), "not an accepted file type"),
        (lambda n: edxml(n, subject="x" * 501), "longer than 500"),
        (lambda n: edxml(n, kind=1), "no document"),
        (lambda n: edxml(n, ns="urn:wrong"), "wrong namespace"),
        (lambda n: edxml(n)[:-40], "malformed XML"),
        (lambda n: edxml(n, content=b"%PDF-" + b"0" * 200_000), "too large"),
    ],
    ids=[
        "unknown-sender",
        "inactive-sender",
        "misaddressed",
        "missing-subject",
        "bad-attachment",
        "subject-too-long",
        "revocation-of-nothing",
        "wrong-namespace",
        "malformed",
        "oversize",
    ],
)
async def test_bad_agency_packages_get_status_02_and_a_dlq_entry(
    svc: Svc, build: Callable[[int], bytes], reason: str
) -> None:
    number = next(_seq)
    value = build(number)
    sender = STRANGER if b"000.00.99.H41" in value[:2000] else INACTIVE_SENDER
    key = sender if sender.encode() in value[:2000] else SENDER
    await _expect_rejection(svc, value, number=number, reason=reason, key=key)


async def test_a_good_and_a_bad_package_back_to_back(svc: Svc) -> None:
    # Sent together they usually arrive in one fetch, applied in one transaction: the refusal's
    # 02, rejection row and audit entry commit in it with the dead letter (an answer written in a
    # second transaction would wait on the audit lock the first package's entry holds).
    good, bad = next(_seq), next(_seq)
    dlq_before = len(svc.seen.get("exchange.inbound.dlq", []))
    send_edxml(svc, edxml(good))
    send_edxml(svc, edxml(bad, subject=None))
    document = await inbox_document(svc, good)
    assert document["Subject"] == "V/v dự toán ngân sách năm 2026"
    [dead] = (await svc.wait_for("exchange.inbound.dlq", lambda _: True, count=dlq_before + 1))[
        dlq_before:
    ]
    assert "missing required field" in dead["headers"]["dlq-error"].decode()
    answers = await svc.wait_for("exchange.status", statuses(svc, bad))
    assert [a.payload["StatusCode"] for a in answers] == ["02"]
    accepted = await svc.wait_for("exchange.status", statuses(svc, good))
    assert [a.payload["StatusCode"] for a in accepted] == ["01"]


async def test_bad_claim_check_is_refused(svc: Svc) -> None:
    number = next(_seq)
    header = {
        "From": {"OrganId": SENDER, "OrganName": "Sở Tài chính"},
        "To": [{"OrganId": OFFICE, "OrganName": "UBND thành phố"}],
        "DocumentId": document_id(number),
        "Code": {"CodeNumber": str(number), "CodeNotation": "STC-QLNS"},
        "PromulgationInfo": {"PromulgationDate": TODAY.isoformat()},
        "DocumentType": {"TypeName": "Công văn"},
        "Subject": "Tệp không tồn tại",
        "attachments": [
            {
                "kind": "claim_check",
                "bucket": "qlvb-inbound",
                "object_key": f"missing/{uuid.uuid4().hex}",
                "sha256": "0" * 64,
                "size": 10,
                "content_type": "application/pdf",
            }
        ],
    }
    value = Envelope.new(
        payload=ExchangeDocument.model_validate(header), producer=SENDER
    ).to_bytes()
    before = len(svc.seen.get("exchange.inbound.dlq", []))
    svc.produce("exchange.inbound", value, key=SENDER)
    found = await svc.wait_for("exchange.inbound.dlq", lambda _: True, count=before + 1)
    assert "not found" in found[before]["headers"]["dlq-error"].decode()
    [status] = await svc.wait_for("exchange.status", statuses(svc, number))
    assert status.payload["StatusCode"] == "02"
    rejections = await svc.client.get("/electronic-inbox/rejections", headers=svc.clerk)
    assert any(r["DocumentId"] == document_id(number) for r in rejections.json())


async def test_revocation_update_and_replacement(svc: Svc) -> None:
    revoked, updated, replaced = next(_seq), next(_seq), next(_seq)
    for n in (revoked, updated, replaced):
        send_edxml(svc, edxml(n))
    doc_revoked = await inbox_document(svc, revoked)
    doc_updated = await inbox_document(svc, updated)
    doc_replaced = await inbox_document(svc, replaced)
    registered = await svc.client.post(
        f"/incoming-documents/{doc_updated['id']}/register",
        json={"register_id": f"VBD-{YEAR}", "first_handlers": ["cv.nguyenvana"]},
        headers=svc.clerk,
    )
    assert registered.status_code == 200

    send_edxml(svc, edxml(revoked, kind=1))
    send_edxml(svc, edxml(updated, kind=2, subject="V/v dự toán (cập nhật)"))
    new_pdf = PDF + b"% replaced\n"
    send_edxml(svc, edxml(replaced, kind=3, subject="V/v dự toán (thay thế)", content=new_pdf))

    [agree] = [
        s
        for s in await svc.wait_for("exchange.status", statuses(svc, revoked), count=2)
        if s.payload["StatusCode"] == "15"
    ]
    assert agree.key == SENDER
    await svc.wait_for("exchange.status", statuses(svc, replaced), count=2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now_updated = (
            await svc.client.get(f"/incoming-documents/{doc_updated['id']}", headers=svc.clerk)
        ).json()
        if now_updated["amendments"]:
            break
        await asyncio.sleep(0.1)

    now_revoked = (
        await svc.client.get(f"/incoming-documents/{doc_revoked['id']}", headers=svc.clerk)
    ).json()
    assert now_revoked["status"] == "revoked"
    assert now_revoked["amendments"][0]["BussinessDocType"] == 1
    inbox = await svc.client.get("/electronic-inbox", headers=svc.clerk)
    assert doc_revoked["id"] not in {d["id"] for d in inbox.json()["items"]}

    # Registered already: recorded and shown, not applied.
    assert now_updated["status"] == "registered"
    assert now_updated["Subject"] == doc_updated["Subject"]
    assert now_updated["pending_amendments"] == 1
    assert now_updated["amendments"][0]["package"]["Subject"] == "V/v dự toán (cập nhật)"

    now_replaced = (
        await svc.client.get(f"/incoming-documents/{doc_replaced['id']}", headers=svc.clerk)
    ).json()
    assert now_replaced["status"] == "received"
    assert now_replaced["Subject"] == "V/v dự toán (thay thế)"
    current = [a for a in now_replaced["attachments"] if not a["superseded"]]
    assert [a["sha256"] for a in current] == [hashlib.sha256(new_pdf).hexdigest()]


async def test_clerk_returns_an_electronic_document(svc: Svc) -> None:
    number = next(_seq)
    send_edxml(svc, edxml(number))
    doc = await inbox_document(svc, number)
    returned = await svc.client.post(
        f"/incoming-documents/{doc['id']}/return",
        json={"reason": "Văn bản điện tử không có chữ ký số hợp lệ"},
        headers=svc.clerk,
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    found = await svc.wait_for("exchange.status", statuses(svc, number), count=2)
    assert found[1].payload["StatusCode"] == "02"
    assert "chữ ký số" in found[1].payload["Description"]
    [event] = await svc.wait_for(
        "intake.incoming-documents",
        lambda e: (
            e.type == "incoming_document.returned"
            and e.payload["incoming_document_id"] == doc["id"]
        ),
    )
    assert event.payload["channel"] == "electronic"


async def test_metrics_expose_time_to_register(svc: Svc) -> None:
    await post_paper(svc, paper())
    text = (await svc.client.get("/metrics")).text
    assert 'qlvb_intake_time_to_register_working_seconds_bucket{channel="paper"' in text
    assert "qlvb_intake_inbound_packages_total" in text
    _ = date  # the module's dates come from TODAY
