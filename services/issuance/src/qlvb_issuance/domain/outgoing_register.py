"""Sổ đăng ký văn bản đi (NĐ 30/2020, Phụ lục IV): one row per number of a register-year.

Columns: số, ký hiệu · ngày tháng · tên loại và trích yếu · người ký · nơi nhận · đơn vị, người
nhận bản lưu · số lượng bản · ngày chuyển · ký nhận · ghi chú. Voided numbers keep their row
(a number is never reused), with the reason in the notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from qlvb_chassis.calendar import to_office_time
from qlvb_chassis.numbering import AllocatedNumber
from qlvb_contracts.reference import format_code

COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "Số, ký hiệu văn bản"),
    ("issued_date", "Ngày tháng văn bản"),
    ("type_and_subject", "Tên loại và trích yếu nội dung văn bản"),
    ("signer", "Người ký"),
    ("recipients", "Nơi nhận văn bản"),
    ("file_copy", "Đơn vị, người nhận bản lưu"),
    ("copies", "Số lượng bản"),
    ("date_sent", "Ngày chuyển"),
    ("signature", "Ký nhận"),
    ("notes", "Ghi chú"),
)


def number_reference(notation: str, outgoing_document_id: str) -> str:
    """What the register book keeps with an allocated number: the notation it was given with
    (so a voided number still reads "05/QĐ-UBND") and the document it went to."""
    return f"{notation} {outgoing_document_id}"


def parse_reference(reference: str) -> tuple[str, str]:
    notation, _, doc_id = reference.partition(" ")
    return notation, doc_id


@dataclass(frozen=True)
class RegisterRow:
    number: int
    code: str
    issued_date: date | None
    type_and_subject: str
    signer: str
    recipients: str
    file_copy: str
    copies: int | None
    date_sent: date | None
    signature: str
    notes: str
    status: str
    outgoing_document_id: str

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("issued_date", "date_sent"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


def _signer(info: Mapping[str, Any] | None) -> str:
    if not info:
        return ""
    parts = [info.get("Competence"), info.get("Position"), info.get("FullName")]
    return " ".join(str(p) for p in parts if p)


def register_rows(
    numbers: Sequence[AllocatedNumber], documents: Mapping[str, Mapping[str, Any]]
) -> list[RegisterRow]:
    """Rows in number order; ``documents`` maps outgoing_document_id → its stored fields."""
    rows = []
    for n in numbers:
        notation, doc_id = parse_reference(n.reference)
        code = format_code(n.number, notation)
        doc = documents.get(doc_id, {})
        voided = n.voided_at is not None
        notes: list[str] = []
        if voided:
            notes.append(f"Hủy số: {n.void_reason} ({n.voided_by})")
            status = "voided"
        else:
            status = str(doc.get("status", ""))
            if doc.get("recall_reason"):
                notes.append(f"Đã thu hồi: {doc['recall_reason']}")
            if doc.get("notes"):
                notes.append(str(doc["notes"]))
        issued_at: datetime | None = None if voided else doc.get("issued_at")
        recipients = doc.get("recipients") or []
        type_and_subject = f"{doc.get('type_name', '')}: {doc.get('subject', '')}".strip(": ")
        rows.append(
            RegisterRow(
                number=n.number,
                code=code,
                issued_date=None if voided else doc.get("issued_date"),
                type_and_subject=type_and_subject,
                signer="" if voided else _signer(doc.get("signer_info")),
                recipients="" if voided else "; ".join(r["OrganName"] for r in recipients),
                file_copy="" if voided else file_copy(doc.get("file_copy_unit")),
                copies=None if voided else doc.get("issued_amount"),
                date_sent=to_office_time(issued_at).date() if issued_at is not None else None,
                signature="",
                notes="; ".join(notes),
                status=status,
                outgoing_document_id=doc_id,
            )
        )
    return rows


def file_copy(unit_code: str | None) -> str:
    """Lưu: VT (the clerks' archive) and the drafting unit."""
    return f"VT, {unit_code}" if unit_code else "VT"
