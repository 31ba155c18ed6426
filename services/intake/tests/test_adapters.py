"""The return slip and the inbound decoder, without I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from qlvb_contracts.edxml import EDXML_CONTENT_TYPE
from qlvb_contracts.envelope import Envelope
from qlvb_contracts.payloads.common import ClaimCheckAttachment
from qlvb_contracts.payloads.exchange_inbound import ExchangeDocument
from qlvb_intake.adapters.return_slip import (
    ReturnSlip,
    ReturnSlipFontMissing,
    render_return_slip,
)
from qlvb_intake.entrypoints.decoding import inbound_decoder
from qlvb_intake.service_layer.inbound import InboundPackage

EXAMPLES = Path(__file__).parents[3] / "contracts" / "examples" / "exchange.inbound"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass
class FakeRecord:
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=list)
    key: bytes | None = b"000.00.12.H41"
    topic: str = "exchange.inbound"
    partition: int = 0
    offset: int = 7


def slip() -> ReturnSlip:
    now = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)
    return ReturnSlip(
        office="Văn phòng HĐND và UBND thành phố",
        department="Phòng Hành chính – Tổ chức",
        organ_name="Sở Tài chính",
        code=None,
        promulgation_date=date(2025, 3, 1),
        subject="V/v dự toán ngân sách",
        reasons=["Văn bản không có số", "Văn bản không đóng dấu"],
        received_at=now,
        returned_at=now,
        prepared_by="vanthu",
    )


def test_return_slip_is_a_pdf_in_vietnamese() -> None:
    pdf = render_return_slip(slip(), font=FONT, bold_font=BOLD)
    assert pdf.startswith(b"%PDF-")
    assert b"DejaVu" in pdf


def test_a_missing_font_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ReturnSlipFontMissing, match="Unicode font"):
        render_return_slip(slip(), font=tmp_path / "none.ttf", bold_font=BOLD)


def decode(record: FakeRecord, max_bytes: int = 1_000_000) -> InboundPackage:
    delivery = inbound_decoder(max_bytes=max_bytes)(record)
    assert isinstance(delivery.payload, InboundPackage)
    assert delivery.message_id == "exchange.inbound/0/7"
    return delivery.payload


def test_decoder_reads_the_edxml_example() -> None:
    value = (EXAMPLES / "edxml.xml").read_bytes()
    package = decode(FakeRecord(value, [("content-type", EDXML_CONTENT_TYPE.encode())]))
    assert package.error is None
    assert package.source_format == "edxml"
    assert package.document_id == "000.00.12.H41,2024/07/15,1234/STC-QLNS"
    assert [f.name for f in package.files] == ["1234-STC-QLNS.pdf", "phu-luc-bieu-mau.txt"]
    assert package.files[0].content is not None
    assert package.files[0].content.startswith(b"%PDF")


def test_decoder_reads_the_json_example_with_claim_checks() -> None:
    value = (EXAMPLES / "exchange_document.v1.json").read_bytes()
    package = decode(FakeRecord(value, [("content-type", b"application/json")]))
    assert package.error is None
    assert package.source_format == "exchange_document"
    assert package.source_message_id is not None
    envelope = Envelope.from_bytes(value)
    document = ExchangeDocument.model_validate(envelope.payload)
    claims = [a for a in document.attachments if isinstance(a, ClaimCheckAttachment)]
    assert [f.claim for f in package.files if f.claim is not None] == claims


@pytest.mark.parametrize(
    ("value", "content_type", "reason"),
    [
        (b"<edXML xmlns='urn:wrong'/>", EDXML_CONTENT_TYPE, "wrong namespace"),
        (b"<edXML", EDXML_CONTENT_TYPE, "malformed XML"),
        (b"{not json", "application/json", "invalid envelope"),
        (b"hello", "text/csv", "unsupported content-type"),
        (b"", EDXML_CONTENT_TYPE, "empty"),
        (b"<x>" + b" " * 2000 + b"</x>", EDXML_CONTENT_TYPE, "too large"),
    ],
)
def test_decoder_turns_bad_packages_into_errors_for_a_status_02(
    value: bytes, content_type: str, reason: str
) -> None:
    package = decode(FakeRecord(value, [("content-type", content_type.encode())]), max_bytes=1000)
    assert package.error is not None
    assert reason in package.error
    assert package.sender == "000.00.12.H41"  # from the record key: whom to answer


def test_decoder_reports_missing_required_fields() -> None:
    value = (EXAMPLES / "edxml.xml").read_bytes()
    value = value.replace(b"<edXML:Subject>", b"<edXML:Other>").replace(
        b"</edXML:Subject>", b"</edXML:Other>"
    )
    package = decode(FakeRecord(value, [("content-type", EDXML_CONTENT_TYPE.encode())]))
    assert package.error is not None
    assert "Subject" in package.error
