"""Shared builders and waits for the issuance tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from qlvb_contracts.edxml import Signer
from qlvb_contracts.envelope import Actor, Envelope
from qlvb_contracts.payloads import identity as idp
from qlvb_contracts.payloads.common import Recipient, ResponseLink, StoredAttachment
from qlvb_contracts.payloads.routing import DocumentFinalizedForIssuance
from qlvb_contracts.topics import Payload

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FINANCE = "000.00.12.H41"  # Sở Tài chính: exchanges electronically
PAPER_AGENCY = "000.00.13.H41"  # a district that still receives paper


def finalized(
    *,
    type_name: str = "Công văn",
    notation: str | None = "UBND-KT",
    appendixes: tuple[str, ...] = (),
    responds_to_electronic: bool = True,
    to: list[Recipient] | None = None,
) -> DocumentFinalizedForIssuance:
    draft_id = str(uuid.uuid4())
    responds = []
    if responds_to_electronic:
        responds.append(
            ResponseLink(
                incoming_document_id=str(uuid.uuid4()),
                DocumentId=f"{FINANCE},2024/07/15,1234/STC-QLNS",
                OrganId=FINANCE,
                Code="1234/STC-QLNS",
            )
        )
    return DocumentFinalizedForIssuance(
        case_id=str(uuid.uuid4()),
        draft_id=draft_id,
        approved_by="ld.levanthanh",
        work_file_id="wf-" + draft_id[:8],
        responds_to=responds,
        document=StoredAttachment(
            object_key=f"drafts/{draft_id}.pdf",
            sha256="0" * 64,
            content_type="application/pdf",
            size=100,
        ),
        Appendixes=list(appendixes),
        TypeName=type_name,
        CodeNotation=notation,
        Subject="V/v xây dựng dự toán ngân sách năm 2025",
        SignerInfo=Signer(
            Competence="TM. ỦY BAN NHÂN DÂN", Position="Chủ tịch", FullName="Lê Văn Thành"
        ),
        To=to
        or [
            Recipient(OrganName="Sở Tài chính", OrganId=FINANCE),
            Recipient(OrganName="Phòng Kinh tế", unit_id="KT"),
        ],
    )


def identity_events() -> list[Payload]:
    return [
        idp.OrgUnitChanged(unit_id="KT", revision=1, code="KT", name="Phòng Kinh tế", active=True),
        idp.OrgUnitChanged(unit_id="VX", revision=1, code="VX", name="Phòng Văn xã", active=True),
        idp.AgencyChanged(
            OrganId=FINANCE,
            revision=1,
            OrganName="Sở Tài chính",
            electronic_exchange=True,
            active=True,
        ),
        idp.AgencyChanged(
            OrganId=PAPER_AGENCY,
            revision=1,
            OrganName="UBND quận Một",
            electronic_exchange=False,
            active=True,
        ),
    ]


async def produce(
    bootstrap: str, topic: str, payloads: list[Payload], producer_name: str = "test"
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for payload in payloads:
            envelope = Envelope.new(
                payload=payload, producer=producer_name, actor=Actor(user="tester")
            )
            await producer.send_and_wait(
                topic, envelope.to_bytes(), key=envelope.key.encode(), headers=envelope.headers()
            )
    finally:
        await producer.stop()


async def eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 30.0, interval: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def read_envelopes(
    bootstrap: str, topic: str, *, until: Callable[[list[Envelope]], bool], within: float = 30
) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: list[Envelope] = []
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and not until(out):
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                out.extend(Envelope.from_bytes(r.value) for r in records if r.value)
    finally:
        await consumer.stop()
    return out
