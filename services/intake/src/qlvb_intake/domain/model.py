"""Incoming documents (văn bản đến): the rules intake enforces, with no I/O.

Fields and lengths follow NĐ 30/2020 Phụ lục VI (the incoming register's fields); names are the
edXML tag names used across the contracts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from qlvb_chassis.calendar import WorkingCalendar, to_office_time
from qlvb_contracts import reference as ref
from qlvb_contracts.payloads.intake import RefusalCategory

# Lengths of NĐ 30/2020 Phụ lục VI (number, notation, issuer, subject, type, signer, notes).
CODE_NUMBER_MAX = 11
CODE_NOTATION_MAX = 30
ORGAN_NAME_MAX = 200
SUBJECT_MAX = 500
TYPE_NAME_MAX = 100
SIGNER_NAME_MAX = 50
SIGNER_POSITION_MAX = 100
NOTES_MAX = 500
PLACE_MAX = 200


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _clean(text: str) -> str:
    return " ".join(nfc(text).split())


Text = Annotated[str, StringConstraints(strip_whitespace=True)]


class DocumentStatus(StrEnum):
    """Where an incoming document stands in intake."""

    RECEIVED = "received"
    """Trong hộp thư điện tử: an agency's document waiting for the clerk to register it."""
    REGISTERED = "registered"
    """Đã vào sổ: has its arrival number (số đến) and first handlers."""
    RETURNED = "returned"
    """Đã trả lại: malformed, a return slip (phiếu trả) went back; no arrival number."""
    REVOKED = "revoked"
    """Bị thu hồi: the sender recalled it before it was registered; it left the inbox."""


class SignerIn(BaseModel):
    """Người ký."""

    model_config = ConfigDict(extra="forbid")

    Competence: Annotated[str, StringConstraints(max_length=50)] | None = None
    Position: Annotated[str, StringConstraints(max_length=SIGNER_POSITION_MAX)] | None = None
    FullName: Annotated[str, StringConstraints(min_length=1, max_length=SIGNER_NAME_MAX)]


class PaperDocumentForm(BaseModel):
    """What a clerk enters for a paper incoming document (the ``metadata`` part of the upload).

    Required for every document: OrganName, TypeName, Subject (the slip of a returned document
    names them too). CodeNumber, PromulgationDate and ``has_seal`` are what a well-formed document
    shows (seed Đ6.1): without them the document is returned, not registered. ``register_id`` and
    ``first_handlers`` are required to register.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    register_id: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    """Sổ văn bản đến chosen by the clerk."""
    first_handlers: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    """Chuyển xử lý: user ids the clerk forwards the document to."""
    received_at: datetime | None = None
    """When the paper arrived; earlier than now for an entry after an outage (seed Đ3.4)."""
    registered_at: datetime | None = None
    """With a backfilled entry: when the clerk really registered and forwarded it on paper."""

    OrganName: Annotated[str, StringConstraints(min_length=1, max_length=ORGAN_NAME_MAX)]
    """Cơ quan ban hành."""
    OrganId: ref.OrganIdentifier | None = None
    CodeNumber: Annotated[str, StringConstraints(max_length=CODE_NUMBER_MAX)] | None = None
    """Số (as written, "05")."""
    CodeNotation: Annotated[str, StringConstraints(max_length=CODE_NOTATION_MAX)] | None = None
    """Ký hiệu ("QĐ-UBND")."""
    PromulgationDate: date | None = None
    """Ngày ban hành."""
    PromulgationPlace: Annotated[str, StringConstraints(max_length=PLACE_MAX)] | None = None
    TypeName: Annotated[str, StringConstraints(min_length=1, max_length=TYPE_NAME_MAX)]
    """Loại văn bản ("Công văn", "Quyết định" ...)."""
    Subject: Annotated[str, StringConstraints(min_length=1, max_length=SUBJECT_MAX)]
    """Trích yếu, verbatim or more specific (seed Đ6.3)."""
    SignerInfo: SignerIn | None = None
    Priority: ref.Urgency = ref.Urgency.NORMAL
    DueDate: date | None = None
    PageAmount: int | None = Field(default=None, ge=0, le=100_000)
    ToPlaces: list[Annotated[str, StringConstraints(max_length=PLACE_MAX)]] = Field(
        default_factory=list, max_length=100
    )
    DocumentId: ref.DocumentIdentifier | None = None
    notes: Annotated[str, StringConstraints(max_length=NOTES_MAX)] | None = None

    has_seal: bool = True
    """Whether the document bears the issuer's seal (dấu); False → returned."""
    other_defects: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=10
    )
    """Further defects of form the clerk noticed (mực dấu không rõ ràng ...) → returned."""
    confidentiality: str | None = None
    """Độ mật stamped on it ("Mật", "Tối mật", "Tuyệt mật"): such documents are refused."""
    complaint: bool = False
    """Đơn thư tranh chấp, khiếu nại, tố cáo: refused (handled outside this system, seed Đ2)."""
    confirm_duplicate: bool = False
    """The clerk saw the duplicate warning and registers anyway."""

    @field_validator("first_handlers")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("received_at", "registered_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must carry a time zone offset, e.g. 2025-03-04T08:15:00+07:00")
        return value


# --- scope (seed Đ2) --------------------------------------------------------------------------

_COMPLAINT_WORDS = ("khiếu nại", "tố cáo", "tranh chấp")


class InvalidConfidentialityMark(ValueError):
    pass


@dataclass(frozen=True)
class Refusal:
    """Why a document is outside the system's scope; ``message`` is shown to the clerk."""

    category: RefusalCategory
    message: str


def out_of_scope(
    *, confidentiality: str | None, complaint: bool, type_name: str, subject: str
) -> Refusal | None:
    """Confidential documents and complaints/denunciations are managed by a separate process and
    software (seed Đ2): the system refuses them and keeps nothing of them."""
    if confidentiality is not None and confidentiality.strip():
        level = ref.Confidentiality.from_mark(confidentiality)
        if level is None:
            try:
                level = ref.Confidentiality(confidentiality.strip().lower())
            except ValueError:
                raise InvalidConfidentialityMark(
                    f"unknown confidentiality mark {confidentiality!r}: "
                    "expected Mật, Tối mật or Tuyệt mật"
                ) from None
        return Refusal(
            RefusalCategory.CONFIDENTIAL,
            f"Văn bản có độ mật \u201c{level.label}\u201d không được quản lý trên phần mềm "
            "QLVB & HSCV (Quy định, Điều 2); chuyển xử lý theo quy trình văn bản mật. "
            "Không có dữ liệu nào của văn bản được lưu.",
        )
    words = f"{nfc(type_name)} {nfc(subject)}".casefold()
    if complaint or (
        nfc(type_name).casefold().startswith("đơn") and any(w in words for w in _COMPLAINT_WORDS)
    ):
        return Refusal(
            RefusalCategory.COMPLAINT,
            "Đơn thư tranh chấp, khiếu nại, tố cáo không được quản lý trên phần mềm QLVB & HSCV "
            "(Quy định, Điều 2); chuyển xử lý theo quy trình riêng. "
            "Không có dữ liệu nào của văn bản được lưu.",
        )
    return None


# --- form (seed Đ6.1) ------------------------------------------------------------------------


def defects_of_form(
    *,
    code_number: str | None,
    promulgation_date: date | None,
    has_seal: bool,
    other: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """Why a document is not in due form (không đúng thể thức) and must be returned, in
    Vietnamese for the return slip; empty when it may be registered."""
    reasons = []
    if not (code_number or "").strip():
        reasons.append("Văn bản không có số")
    if promulgation_date is None:
        reasons.append("Văn bản không ghi ngày tháng ban hành")
    if not has_seal:
        reasons.append("Văn bản không đóng dấu")
    reasons.extend(other)
    return reasons


# --- duplicates (NĐ 30/2020: same identifier, or same number, notation and issuer) -----------


def duplicate_key(code_number: str, code_notation: str, organ_name: str) -> str:
    """A comparison key for (số, ký hiệu, cơ quan ban hành): "05" and "5" are one number;
    notation case, spaces and Unicode composition do not matter."""
    number = code_number.strip().lstrip("0") or "0"
    notation = "".join(nfc(code_notation).split()).upper()
    organ = _clean(organ_name).casefold()
    return f"{number}|{notation}|{organ}"


# --- time: backfill, the arrival year, the SLA ------------------------------------------------

CLOCK_SKEW = timedelta(minutes=2)


class InvalidTimes(ValueError):
    pass


@dataclass(frozen=True)
class ReceiptTimes:
    received_at: datetime
    registered_at: datetime
    backfilled: bool


def receipt_times(
    *,
    now: datetime,
    received_at: datetime | None,
    registered_at: datetime | None,
    tolerance: timedelta,
) -> ReceiptTimes:
    """The true times of receipt and registration (seed Đ3.4: entered after an outage with the
    true time of each act, marked as backfilled)."""
    received = received_at or now
    if received > now + CLOCK_SKEW:
        raise InvalidTimes("received_at lies in the future")
    backfilled = now - received > tolerance
    if registered_at is None:
        registered = now
    else:
        if not backfilled:
            raise InvalidTimes("registered_at may only be given for a backfilled entry")
        if registered_at > now + CLOCK_SKEW:
            raise InvalidTimes("registered_at lies in the future")
        if registered_at < received:
            raise InvalidTimes("registered_at is earlier than received_at")
        registered = registered_at
    return ReceiptTimes(received, registered, backfilled)


def arrival_year(received_at: datetime) -> int:
    """Arrival numbers restart on 1 January in the office's time zone."""
    return to_office_time(received_at).year


@dataclass(frozen=True)
class Sla:
    deadline: datetime
    met: bool
    working_time: timedelta
    """Working time from receipt to registration."""


def register_sla(
    calendar: WorkingCalendar, received_at: datetime, registered_at: datetime, hours: float
) -> Sla:
    """Register and forward within ``hours`` working hours of receipt (seed Đ6.2: 4)."""
    deadline = calendar.add_working_hours(received_at, hours)
    elapsed = max(timedelta(0), calendar.working_time_between(received_at, registered_at))
    return Sla(deadline=deadline, met=registered_at <= deadline, working_time=elapsed)


ReturnChannel = Literal["paper", "electronic"]
