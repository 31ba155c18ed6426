"""Reading exchange.inbound records: edXML or the JSON ``exchange_document`` envelope.

Unlike the default decoder, this one never raises for a bad package: an agency must get a
status 02 with the reason, which only the handler (with a database) can send. So a record that
is not an acceptable package becomes an :class:`InboundPackage` carrying ``error``; the handler
answers 02 and raises PermanentError, and the record goes to the DLQ.
"""

from __future__ import annotations

import hashlib
import re

from qlvb_chassis.consumer import Decoder, Delivery, Record
from qlvb_contracts.edxml import EdXmlDocument
from qlvb_contracts.envelope import CONTENT_TYPE_HEADER, Envelope, parse_payload
from qlvb_contracts.errors import ContractError
from qlvb_contracts.payloads.common import ClaimCheckAttachment, InlineAttachment
from qlvb_contracts.payloads.exchange_inbound import ExchangeDocument, decode_inbound
from qlvb_contracts.registry import EXCHANGE_INBOUND, REGISTRY
from qlvb_intake.service_layer.inbound import InboundFile, InboundPackage

# Enough of an unreadable package to address its status 02 to the right document.
_DOCUMENT_ID = re.compile(
    rb"<(?:[\w.-]+:)?DocumentId>\s*([^<]{1,300}?)\s*</(?:[\w.-]+:)?DocumentId>"
)
_SCAN_LIMIT = 64 * 1024


def _guess_document_id(value: bytes) -> str | None:
    match = _DOCUMENT_ID.search(value[:_SCAN_LIMIT])
    return match.group(1).decode(errors="replace") if match else None


def _from_edxml(base: dict[str, object], doc: EdXmlDocument) -> InboundPackage:
    business = doc.trace.Bussiness
    return InboundPackage(
        **base,
        source_format="edxml",
        sender=doc.header.From.OrganId,
        document_id=doc.header.DocumentId,
        header=doc.header,
        business_kind=doc.business_doc_type,
        business_reason=business.BussinessDocReason if business else None,
        files=[
            InboundFile(
                name=a.AttachmentName,
                description=a.Description,
                declared_type=a.ContentType,
                content=a.Content,
            )
            for a in doc.attachments
        ],
    )


def _from_json(
    base: dict[str, object], envelope: Envelope, doc: ExchangeDocument
) -> InboundPackage:
    files = []
    for a in doc.attachments:
        if isinstance(a, InlineAttachment):
            files.append(
                InboundFile(
                    name=a.AttachmentName,
                    description=a.Description,
                    declared_type=a.content_type,
                    content=a.content,
                )
            )
        else:
            assert isinstance(a, ClaimCheckAttachment)
            files.append(
                InboundFile(
                    name=a.AttachmentName,
                    description=a.Description,
                    declared_type=a.content_type,
                    claim=a,
                )
            )
    return InboundPackage(
        **base,
        source_format="exchange_document",
        source_message_id=str(envelope.message_id),
        sender=doc.From.OrganId,
        document_id=doc.DocumentId,
        header=doc,
        business_kind=doc.BussinessDocType,
        business_reason=doc.BussinessDocReason,
        files=files,
    )


def inbound_decoder(*, max_bytes: int) -> Decoder:
    def decode(record: Record) -> Delivery:
        value = record.value or b""
        headers = dict(record.headers or ())
        raw_type = headers.get(CONTENT_TYPE_HEADER)
        content_type = raw_type.decode(errors="replace") if raw_type is not None else None
        key = record.key.decode(errors="replace") if record.key is not None else None
        base: dict[str, object] = {
            "delivery_id": f"{record.topic}/{record.partition}/{record.offset}",
            "package_sha256": hashlib.sha256(value).hexdigest(),
        }
        envelope: Envelope | None = None
        try:
            if not value:
                raise ContractError("empty message (thông điệp rỗng)")
            decoded = decode_inbound(value, content_type, max_bytes=max_bytes)
            if isinstance(decoded, Envelope):
                envelope = decoded
                payload = parse_payload(REGISTRY, EXCHANGE_INBOUND, decoded)
                assert isinstance(payload, ExchangeDocument)
                package = _from_json(base, decoded, payload)
            else:
                package = _from_edxml(base, decoded)
        except ContractError as exc:
            package = InboundPackage(
                **base,
                source_format="unknown",
                sender=key,
                document_id=_guess_document_id(value),
                error=str(exc)[:1000],
            )
        return Delivery(
            message_id=str(base["delivery_id"]),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=key,
            payload=package,
            envelope=envelope,
            raw=b"",
            headers=headers,
        )

    return decode
