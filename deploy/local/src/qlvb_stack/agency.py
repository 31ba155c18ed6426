"""Play an external agency on the local stack (``./qlvb agency``): send an edXML document onto
``exchange.inbound`` the way another agency's exchange system does, and read what the office sent
back to that agency (status packages on ``exchange.status``, documents on ``exchange.outbound``).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from qlvb_contracts import edxml
from qlvb_contracts.envelope import Envelope
from qlvb_contracts.reference import build_document_id
from qlvb_contracts.registry import EXCHANGE_INBOUND, EXCHANGE_OUTBOUND, EXCHANGE_STATUS
from qlvb_stack.config import StackConfig

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def build_document(
    *,
    sender: str,
    sender_name: str,
    recipient: str,
    recipient_name: str,
    code: str,
    subject: str,
    type_name: str,
    promulgated: date,
    attachment: Path | None,
) -> tuple[str, bytes]:
    """An edXML package; returns (DocumentId, XML bytes)."""
    number, _, notation = code.partition("/")
    document_id = build_document_id(sender, promulgated, code)
    content = attachment.read_bytes() if attachment else MINIMAL_PDF
    doc = edxml.EdXmlDocument(
        header=edxml.MessageHeader(
            From=edxml.Organization(OrganId=sender, OrganName=sender_name),
            To=[edxml.Organization(OrganId=recipient, OrganName=recipient_name)],
            DocumentId=document_id,
            Code=edxml.DocumentCode(CodeNumber=number, CodeNotation=notation),
            PromulgationInfo=edxml.Promulgation(Place="Hà Nội", PromulgationDate=promulgated),
            DocumentType=edxml.DocumentKind(TypeName=type_name),
            Subject=subject,
            SignerInfo=edxml.Signer(Position="Giám đốc", FullName="Nguyễn Văn Giám"),
        ),
        attachments=[
            edxml.Attachment(
                ContentId="att-1",
                ContentType="application/pdf",
                AttachmentName=attachment.name if attachment else f"{number}.pdf",
                Content=content,
            )
        ],
    )
    return document_id, edxml.build_edxml(doc)


async def send(cfg: StackConfig, sender: str, package: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=cfg.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            EXCHANGE_INBOUND,
            package,
            key=sender.encode(),
            headers=[("content-type", edxml.EDXML_CONTENT_TYPE.encode())],
        )
    finally:
        await producer.stop()


def _describe(topic: str, value: bytes) -> dict[str, Any]:
    try:
        envelope = Envelope.from_bytes(value)
    except Exception:
        return {"topic": topic, "raw": value[:200].decode(errors="replace")}
    p = envelope.payload
    if topic == EXCHANGE_STATUS:
        return {
            "topic": topic,
            "StatusCode": p.get("StatusCode"),
            "Description": p.get("Description"),
            "DocumentId": (p.get("ResponseFor") or {}).get("DocumentId"),
        }
    return {
        "topic": topic,
        "Code": p.get("Code") or (p.get("header") or {}).get("Code"),
        "Subject": p.get("Subject"),
        "ResponseFor": p.get("ResponseFor"),
        "payload": p,
    }


async def received(cfg: StackConfig, organ_id: str, wait_s: float = 3.0) -> list[dict[str, Any]]:
    """Everything sent to ``organ_id`` so far on the status and outbound topics."""
    consumer = AIOKafkaConsumer(
        EXCHANGE_STATUS,
        EXCHANGE_OUTBOUND,
        bootstrap_servers=cfg.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        quiet_until = time.monotonic() + wait_s
        while time.monotonic() < quiet_until:
            batch = await consumer.getmany(timeout_ms=300)
            for tp, records in batch.items():
                for record in records:
                    if record.key is not None and record.key.decode() == organ_id:
                        out.append(_describe(tp.topic, record.value))
                quiet_until = time.monotonic() + 1.0
    finally:
        await consumer.stop()
    return out


def main_send(cfg: StackConfig, args: Any) -> int:
    document_id, package = build_document(
        sender=args.sender,
        sender_name=args.sender_name,
        recipient=args.to,
        recipient_name=args.to_name,
        code=args.code,
        subject=args.subject,
        type_name=args.type_name,
        promulgated=date.fromisoformat(args.date) if args.date else date.today(),
        attachment=Path(args.attach) if args.attach else None,
    )
    asyncio.run(send(cfg, args.sender, package))
    print(json.dumps({"sent": True, "DocumentId": document_id}, ensure_ascii=False))
    return 0


def main_inbox(cfg: StackConfig, args: Any) -> int:
    for item in asyncio.run(received(cfg, args.organ_id)):
        item.pop("payload", None)
        print(json.dumps(item, ensure_ascii=False))
    return 0
