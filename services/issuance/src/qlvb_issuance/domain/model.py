"""Outgoing registers, numbers and the life of an outgoing document (văn bản đi).

Pure rules, no I/O (NĐ 30/2020 Điều 15–16 and Phụ lục I–III; seed Đ8):

- A register (sổ văn bản đi) is one series of numbers, restarted at 01 every 1 January: one for
  administrative documents, one per type for normative legal documents (văn bản QPPL), one for
  copies (bản sao: SY, SL, TrS). The counter per (register, year) is the chassis'.
- Số, ký hiệu: "05/QĐ-UBND" — type abbreviation then issuer; a công văn has no type abbreviation,
  so its notation is issuer then drafting unit ("12/UBND-VX").
- queued → numbered → issued → recalled; a number taken but spoiled before issuing is voided
  (it stays in the register, never reused) and the document goes back to the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from qlvb_chassis.calendar import to_office_time
from qlvb_contracts import reference as ref
from qlvb_contracts.errors import ContractError
from qlvb_contracts.payloads.common import Recipient
from qlvb_issuance.domain.errors import Conflict, Invalid


class Series(StrEnum):
    """Loại sổ: which documents a register numbers."""

    ADMINISTRATIVE = "administrative"
    """Văn bản hành chính (one register may cover every administrative type)."""
    NORMATIVE = "normative"
    """Văn bản quy phạm pháp luật: one register per document type."""
    COPIES = "copies"
    """Bản sao y, sao lục, trích sao: a series of their own."""


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    """Chờ phát hành: finalized by routing, in the clerk's issue queue."""
    NUMBERED = "numbered"
    """Đã cấp số: number and date taken, not yet sent."""
    ISSUED = "issued"
    """Đã phát hành."""
    RECALLED = "recalled"
    """Đã thu hồi: frozen."""


class AttachmentKind(StrEnum):
    SIGNED = "signed"
    """Bản chính thức có chữ ký (PDF)."""
    APPENDIX = "appendix"
    """Phụ lục kèm theo (seed Đ8.1: phải kèm đủ)."""
    CLEAN_COPY = "clean_copy"
    """Bản đánh máy sạch (seed Đ8.2)."""


@dataclass(frozen=True)
class Register:
    """Sổ văn bản đi: one series of numbers in the catalog kept by the records admin."""

    register_id: str
    name: str
    series: Series
    type_names: tuple[str, ...] = ()
    """Document types (TypeName) numbered here; empty in an administrative register = every
    administrative type not given a register of its own."""
    copy_types: tuple[ref.CopyType, ...] = ()
    active: bool = True

    def __post_init__(self) -> None:
        for name in self.type_names:
            try:
                ref.DocumentType.from_name(name)
            except ContractError as exc:
                raise Invalid(str(exc), slug="unknown-document-type") from None
        if self.series is Series.NORMATIVE and len(self.type_names) != 1:
            raise Invalid(
                "a register of normative legal documents numbers exactly one document type "
                "(mỗi loại văn bản QPPL một sổ)",
                slug="invalid-register",
            )
        if self.series is Series.COPIES:
            if self.type_names:
                raise Invalid("a register of copies has no document types", slug="invalid-register")
        elif self.copy_types:
            raise Invalid("only a register of copies has copy types", slug="invalid-register")

    def numbers(self, type_name: str) -> bool:
        wanted = ref.DocumentType.from_name(type_name)
        return any(ref.DocumentType.from_name(n) is wanted for n in self.type_names)


def choose_register(registers: Iterable[Register], type_name: str) -> Register:
    """The administrative register for a type: one naming it, else the catch-all one.

    Normative and copy registers are only used when the clerk names them explicitly.
    """
    candidates = [r for r in registers if r.active and r.series is Series.ADMINISTRATIVE]
    named = [r for r in candidates if r.numbers(type_name)]
    if named:
        return sorted(named, key=lambda r: r.register_id)[0]
    catch_all = [r for r in candidates if not r.type_names]
    if catch_all:
        return sorted(catch_all, key=lambda r: r.register_id)[0]
    raise Invalid(
        f"no active outgoing register numbers {type_name!r}; ask the records admin to add one",
        slug="no-register",
    )


def check_register_fits(register: Register, type_name: str) -> None:
    """A register chosen by the clerk must be able to number this document."""
    if not register.active:
        raise Invalid(f"register {register.register_id} is closed", slug="register-inactive")
    if register.series is Series.COPIES:
        raise Invalid(
            f"register {register.register_id} numbers copies, not original documents",
            slug="register-mismatch",
        )
    if register.type_names and not register.numbers(type_name):
        raise Invalid(
            f"register {register.register_id} does not number {type_name!r} documents",
            slug="register-mismatch",
        )


def document_type(type_name: str) -> ref.DocumentType:
    try:
        return ref.DocumentType.from_name(type_name)
    except ContractError as exc:
        raise Invalid(str(exc), slug="unknown-document-type") from None


def code_notation(
    type_name: str,
    issuer: str,
    *,
    drafting_unit_code: str | None = None,
    copy_type: ref.CopyType | None = None,
) -> str:
    """Ký hiệu: "QĐ-UBND"; a công văn "UBND-VX" (issuer, drafting unit); a copy "SY-UBND"."""
    if copy_type is not None:
        return _valid(f"{copy_type.value}-{issuer}")
    abbreviation = document_type(type_name).abbreviation
    if abbreviation is None:
        if not drafting_unit_code:
            raise Invalid(
                "a công văn's notation needs the drafting unit (e.g. UBND-VX): give "
                "CodeNotation or drafting_unit_id",
                slug="notation-needs-unit",
            )
        return _valid(f"{issuer}-{drafting_unit_code}")
    return _valid(f"{abbreviation}-{issuer}")


def _valid(notation: str) -> str:
    try:
        return ref.validate_notation(notation)
    except ContractError as exc:
        raise Invalid(str(exc), slug="invalid-notation") from None


def confirm_notation(
    requested: str | None,
    proposed: str | None,
    type_name: str,
    issuer: str,
    *,
    drafting_unit_code: str | None,
) -> str:
    """The clerk's notation, else the one proposed with the draft, else derived from the type."""
    if requested:
        notation = _valid(requested)
    elif proposed:
        notation = _valid(proposed)
    else:
        return code_notation(type_name, issuer, drafting_unit_code=drafting_unit_code)
    abbreviation = document_type(type_name).abbreviation
    if abbreviation is not None and notation.split("-")[0] != abbreviation:
        raise Invalid(
            f"notation {notation!r} does not start with {abbreviation!r}, the abbreviation of "
            f"{type_name} (Phụ lục III)",
            slug="invalid-notation",
        )
    return notation


def format_code(number: int, notation: str) -> str:
    """Số, ký hiệu as printed: 5, "QĐ-UBND" → "05/QĐ-UBND"."""
    return ref.format_code(number, notation)


def issued_date(at: datetime) -> date:
    """Ngày ban hành: the office's calendar day (Asia/Ho_Chi_Minh) of the moment of numbering."""
    return to_office_time(at).date()


def missing_appendixes(declared: Sequence[str], uploaded_titles: Iterable[str | None]) -> list[str]:
    """Declared appendices without an uploaded file (seed Đ8.1: "phải kèm đủ").

    Titles are compared ignoring case and surrounding spaces.
    """
    have = {_norm(t) for t in uploaded_titles if t}
    return [title for title in declared if _norm(title) not in have]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Unit:
    unit_id: str
    code: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class Agency:
    OrganId: str
    OrganName: str
    electronic_exchange: bool = False
    active: bool = True
    OrganAdd: str | None = None
    Email: str | None = None
    Telephone: str | None = None


@dataclass(frozen=True)
class Distribution:
    """Nơi nhận as confirmed by the clerk."""

    recipients: list[Recipient]
    electronic: list[Agency] = field(default_factory=list)
    """External agencies that get an edXML package (they exchange electronically)."""


def confirm_recipients(
    requested: Sequence[Recipient],
    units: Mapping[str, Unit],
    agencies: Mapping[str, Agency],
) -> Distribution:
    """Check every recipient against the directory; names come from the directory, not the client.

    An internal unit must be a known active unit; an external agency a known active OrganId.
    A recipient with neither (a person, "Lưu: VT") goes on paper only.
    """
    if not requested:
        raise Invalid("at least one recipient (nơi nhận) is required", slug="no-recipients")
    out: list[Recipient] = []
    electronic: list[Agency] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    for r in requested:
        if r.OrganId is not None and r.unit_id is not None:
            raise Invalid(
                f"recipient {r.OrganName!r} is either an agency (OrganId) or a unit (unit_id)",
                slug="invalid-recipient",
            )
        if r.OrganId is not None:
            agency = agencies.get(r.OrganId)
            if agency is None or not agency.active:
                raise Invalid(
                    f"unknown agency OrganId {r.OrganId} (không có trong danh bạ cơ quan)",
                    slug="unknown-agency",
                )
            confirmed = Recipient(OrganId=agency.OrganId, OrganName=agency.OrganName)
            if agency.electronic_exchange and agency.OrganId not in {a.OrganId for a in electronic}:
                electronic.append(agency)
        elif r.unit_id is not None:
            unit = units.get(r.unit_id)
            if unit is None or not unit.active:
                raise Invalid(f"unknown org unit {r.unit_id}", slug="unknown-unit")
            confirmed = Recipient(unit_id=unit.unit_id, OrganName=unit.name)
        else:
            confirmed = Recipient(OrganName=r.OrganName.strip())
        identity = (confirmed.OrganId, confirmed.unit_id, confirmed.OrganName)
        if identity not in seen:
            seen.add(identity)
            out.append(confirmed)
    return Distribution(out, electronic)


# --- state transitions ---------------------------------------------------------------------------


def ensure_can_number(status: DocumentStatus) -> None:
    if status is not DocumentStatus.QUEUED:
        raise Conflict(f"the document is {status.value}; only a queued document gets a number")


def ensure_can_issue(status: DocumentStatus) -> None:
    if status not in (DocumentStatus.QUEUED, DocumentStatus.NUMBERED):
        raise Conflict(f"the document is already {status.value}", slug="already-issued")


def ensure_can_void(status: DocumentStatus) -> None:
    if status is DocumentStatus.QUEUED:
        raise Conflict("the document has no number to void", slug="no-number")
    if status is not DocumentStatus.NUMBERED:
        raise Conflict(
            f"the document is {status.value}: its number went out with it; recall it instead",
            slug="void-after-issue",
        )


def ensure_can_recall(status: DocumentStatus) -> None:
    if status is DocumentStatus.RECALLED:
        raise Conflict("the document is already recalled", slug="already-recalled")
    if status is not DocumentStatus.ISSUED:
        raise Conflict(f"the document is {status.value}; only an issued one can be recalled")


def ensure_can_attach(status: DocumentStatus) -> None:
    if status not in (DocumentStatus.QUEUED, DocumentStatus.NUMBERED):
        raise Conflict(f"the document is {status.value}; its files are frozen", slug="frozen")


def require_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise Invalid("a reason is required", slug="reason-required")
    return text
