"""Reference data from the law that several services need.

Sources: Nghị định 30/2020/NĐ-CP (công tác văn thư) — document types and their abbreviations
(Phụ lục III), the "Số: 05/QĐ-UBND" number format; QCVN 102:2016/BTTTT (edXML) — urgency as
Priority 0..4, status codes of status packages, BussinessDocType, OrganId and DocumentId.
Every enum carries its Vietnamese label (``.label``) for screens, registers and reports.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Annotated, NamedTuple

from pydantic import AfterValidator, StringConstraints

from qlvb_contracts.errors import ContractError

# Vietnam has had no daylight-saving time since 1975, so a fixed offset equals Asia/Ho_Chi_Minh
# and needs no tz database at runtime.
VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")


def _nfc(text: str) -> str:
    # Vietnamese text arrives composed or decomposed depending on the keyboard/OS; compare as NFC.
    return unicodedata.normalize("NFC", text)


class DocumentType(StrEnum):
    """Loại văn bản hành chính (NĐ 30/2020, Phụ lục III).

    The value is the Vietnamese name, as carried in edXML ``DocumentType/TypeName``.
    """

    NGHI_QUYET = "Nghị quyết"
    QUYET_DINH = "Quyết định"
    CHI_THI = "Chỉ thị"
    QUY_CHE = "Quy chế"
    QUY_DINH = "Quy định"
    THONG_CAO = "Thông cáo"
    THONG_BAO = "Thông báo"
    HUONG_DAN = "Hướng dẫn"
    CHUONG_TRINH = "Chương trình"
    KE_HOACH = "Kế hoạch"
    PHUONG_AN = "Phương án"
    DE_AN = "Đề án"
    DU_AN = "Dự án"
    BAO_CAO = "Báo cáo"
    BIEN_BAN = "Biên bản"
    TO_TRINH = "Tờ trình"
    HOP_DONG = "Hợp đồng"
    CONG_VAN = "Công văn"
    CONG_DIEN = "Công điện"
    BAN_GHI_NHO = "Bản ghi nhớ"
    BAN_THOA_THUAN = "Bản thỏa thuận"
    GIAY_UY_QUYEN = "Giấy ủy quyền"
    GIAY_MOI = "Giấy mời"
    GIAY_GIOI_THIEU = "Giấy giới thiệu"
    GIAY_NGHI_PHEP = "Giấy nghỉ phép"
    PHIEU_GUI = "Phiếu gửi"
    PHIEU_CHUYEN = "Phiếu chuyển"
    PHIEU_BAO = "Phiếu báo"

    @property
    def label(self) -> str:
        return self.value

    @property
    def abbreviation(self) -> str | None:
        """Chữ viết tắt, e.g. "QĐ"; None for a công văn, whose notation starts with the issuer."""
        return _TYPE_ABBREVIATIONS.get(self)

    @classmethod
    def from_abbreviation(cls, abbreviation: str) -> DocumentType:
        wanted = _nfc(abbreviation)
        for member, abbr in _TYPE_ABBREVIATIONS.items():
            if abbr == wanted:
                return member
        raise ContractError(f"unknown document type abbreviation {abbreviation!r}")

    @classmethod
    def from_name(cls, name: str) -> DocumentType:
        """Look up by TypeName, ignoring case ("công văn", "CÔNG VĂN" → CONG_VAN)."""
        wanted = _nfc(name).strip().casefold()
        for member in cls:
            if member.value.casefold() == wanted:
                return member
        raise ContractError(f"unknown document type name {name!r}")


_TYPE_ABBREVIATIONS: dict[DocumentType, str] = {
    DocumentType.NGHI_QUYET: "NQ",
    DocumentType.QUYET_DINH: "QĐ",
    DocumentType.CHI_THI: "CT",
    DocumentType.QUY_CHE: "QC",
    DocumentType.QUY_DINH: "QyĐ",
    DocumentType.THONG_CAO: "TC",
    DocumentType.THONG_BAO: "TB",
    DocumentType.HUONG_DAN: "HD",
    DocumentType.CHUONG_TRINH: "CTr",
    DocumentType.KE_HOACH: "KH",
    DocumentType.PHUONG_AN: "PA",
    DocumentType.DE_AN: "ĐA",
    DocumentType.DU_AN: "DA",
    DocumentType.BAO_CAO: "BC",
    DocumentType.BIEN_BAN: "BB",
    DocumentType.TO_TRINH: "TTr",
    DocumentType.HOP_DONG: "HĐ",
    DocumentType.CONG_DIEN: "CĐ",
    DocumentType.BAN_GHI_NHO: "BGN",
    DocumentType.BAN_THOA_THUAN: "BTT",
    DocumentType.GIAY_UY_QUYEN: "GUQ",
    DocumentType.GIAY_MOI: "GM",
    DocumentType.GIAY_GIOI_THIEU: "GGT",
    DocumentType.GIAY_NGHI_PHEP: "GNP",
    DocumentType.PHIEU_GUI: "PG",
    DocumentType.PHIEU_CHUYEN: "PC",
    DocumentType.PHIEU_BAO: "PB",
}


class CopyType(StrEnum):
    """Hình thức bản sao; copies are numbered in their own series (NĐ 30/2020, Điều 25)."""

    SAO_Y = "SY"
    SAO_LUC = "SL"
    TRICH_SAO = "TrS"

    @property
    def label(self) -> str:
        return _COPY_LABELS[self]


_COPY_LABELS = {
    CopyType.SAO_Y: "Sao y",
    CopyType.SAO_LUC: "Sao lục",
    CopyType.TRICH_SAO: "Trích sao",
}


class Urgency(IntEnum):
    """Độ khẩn; the value is edXML ``OtherInfo/Priority``."""

    NORMAL = 0
    URGENT = 1
    VERY_URGENT = 2
    FLASH = 3
    FLASH_TIMED = 4

    @property
    def label(self) -> str:
        return _URGENCY_LABELS[self]

    @property
    def is_urgent(self) -> bool:
        """Urgent documents are registered and passed on immediately (NĐ 30/2020, Điều 22)."""
        return self is not Urgency.NORMAL


_URGENCY_LABELS = {
    Urgency.NORMAL: "Thường",
    Urgency.URGENT: "Khẩn",
    Urgency.VERY_URGENT: "Thượng khẩn",
    Urgency.FLASH: "Hỏa tốc",
    Urgency.FLASH_TIMED: "Hỏa tốc hẹn giờ",
}


class Confidentiality(StrEnum):
    """Độ mật. The system refuses every confidential document (seed Đ2); these only name why."""

    CONFIDENTIAL = "confidential"
    SECRET = "secret"  # noqa: S105 — a classification level, not a credential
    TOP_SECRET = "top_secret"  # noqa: S105

    @property
    def label(self) -> str:
        return _CONFIDENTIALITY_LABELS[self]

    @classmethod
    def from_mark(cls, mark: str) -> Confidentiality | None:
        """The level a stamped mark ("MẬT", "Tối mật", ...) denotes; None if it is no such mark."""
        wanted = _nfc(mark).strip().casefold()
        for member, label in _CONFIDENTIALITY_LABELS.items():
            if label.casefold() == wanted:
                return member
        return None


_CONFIDENTIALITY_LABELS = {
    Confidentiality.CONFIDENTIAL: "Mật",
    Confidentiality.SECRET: "Tối mật",
    Confidentiality.TOP_SECRET: "Tuyệt mật",
}


class StatusCode(StrEnum):
    """Trạng thái văn bản in an edXML status package, sent back to the sending agency."""

    RECEIVED = "01"
    REJECTED = "02"
    REGISTERED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    DONE = "06"
    RECALLED = "13"
    AGREE_UPDATE_RECALL = "15"
    REFUSE_UPDATE_RECALL = "16"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    StatusCode.RECEIVED: "Đã tiếp nhận",
    StatusCode.REJECTED: "Từ chối tiếp nhận",
    StatusCode.REGISTERED: "Đã vào sổ",
    StatusCode.ASSIGNED: "Đã phân công",
    StatusCode.PROCESSING: "Đang xử lý",
    StatusCode.DONE: "Đã hoàn thành",
    StatusCode.RECALLED: "Lấy lại, thu hồi",
    StatusCode.AGREE_UPDATE_RECALL: "Đồng ý cập nhật, thu hồi",
    StatusCode.REFUSE_UPDATE_RECALL: "Từ chối cập nhật, thu hồi",
}


class BusinessDocType(IntEnum):
    """Loại nghiệp vụ of an edXML package (tag ``BussinessDocType``, spelt as in the standard)."""

    NEW = 0
    REVOCATION = 1
    UPDATE = 2
    REPLACEMENT = 3

    @property
    def label(self) -> str:
        return _BUSINESS_LABELS[self]


_BUSINESS_LABELS = {
    BusinessDocType.NEW: "Văn bản mới",
    BusinessDocType.REVOCATION: "Thu hồi",
    BusinessDocType.UPDATE: "Cập nhật",
    BusinessDocType.REPLACEMENT: "Thay thế",
}


# --- Số, ký hiệu: "05/QĐ-UBND" ----------------------------------------------------------------

# Groups that are legitimately mixed case; every other group must be upper case.
# "TTg" (Thủ tướng Chính phủ) is the one issuer abbreviation in common use that is mixed case.
_MIXED_CASE_GROUPS = frozenset(
    {abbr for abbr in _TYPE_ABBREVIATIONS.values()} | {c.value for c in CopyType} | {"TTg"}
)
_DIGITS = frozenset("0123456789")


def validate_notation(notation: str) -> str:
    """Check a ký hiệu ("QĐ-UBND", "UBND-VX") and return it NFC-normalized.

    Rules (NĐ 30/2020, Phụ lục I): groups joined by "-", each group upper-case letters (digits
    allowed after the first letter) or a known mixed-case abbreviation (QyĐ, CTr, TTr, TrS, TTg);
    no spaces.
    """
    text = _nfc(notation)
    if not text:
        raise ContractError("invalid notation '': empty (ký hiệu trống)")
    if any(ch.isspace() for ch in text):
        raise ContractError(f"invalid notation {notation!r}: no spaces allowed (không có dấu cách)")
    for group in text.split("-"):
        if not group:
            raise ContractError(f"invalid notation {notation!r}: empty group between '-'")
        if group in _MIXED_CASE_GROUPS:
            continue
        if not group[0].isalpha() or not all(
            ch in _DIGITS or (ch.isalpha() and ch.isupper()) for ch in group
        ):
            raise ContractError(
                f"invalid notation {notation!r}: group {group!r} must be upper case "
                "(ký hiệu viết hoa)"
            )
    return text


def format_code(number: int, notation: str) -> str:
    """Số, ký hiệu as printed: ``format_code(5, "QĐ-UBND") == "05/QĐ-UBND"``.

    Numbers below 10 take a leading zero; the notation is kept as given once validated.
    """
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ContractError(f"invalid document number {number!r}: must be an integer >= 1")
    return f"{number:02d}/{validate_notation(notation)}"


class OfficialCode(NamedTuple):
    """A parsed số, ký hiệu: ``OfficialCode(12, "UBND-VX")`` for "12/UBND-VX"."""

    number: int
    notation: str


_CODE = re.compile(r"([0-9]+)/(.+)")


def parse_code(code: str) -> OfficialCode:
    """Parse "12/UBND-VX" (or "05/QĐ-UBND") into number and notation, validating both."""
    text = _nfc(code)
    if any(ch.isspace() for ch in text):
        raise ContractError(f"invalid code {code!r}: no spaces allowed (không có dấu cách)")
    match = _CODE.fullmatch(text)
    if match is None:
        raise ContractError(f"invalid code {code!r}: expected <number>/<notation>, e.g. 05/QĐ-UBND")
    number = int(match.group(1))
    if number < 1:
        raise ContractError(f"invalid code {code!r}: the number must be >= 1")
    return OfficialCode(number, validate_notation(match.group(2)))


Notation = Annotated[str, AfterValidator(validate_notation)]
"""A field holding a validated ký hiệu, e.g. ``CodeNotation`` of an outgoing document."""


# --- edXML dates --------------------------------------------------------------------------------

_EDXML_DATE = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})")
_EDXML_TIMESTAMP = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")


def format_edxml_date(value: date) -> str:
    """Dates in edXML headers and DocumentId are yyyy/MM/dd."""
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def parse_edxml_date(text: str) -> date:
    match = _EDXML_DATE.fullmatch(text.strip())
    if match is None:
        raise ContractError(f"invalid date {text!r}: expected yyyy/MM/dd")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise ContractError(f"invalid date {text!r}: {exc}") from None


def format_edxml_timestamp(value: datetime) -> str:
    """edXML timestamps are "yyyy/MM/dd HH:mm:ss" in Vietnam time, to the second."""
    local = value.astimezone(VIETNAM_TZ)
    return f"{format_edxml_date(local.date())} {local:%H:%M:%S}"


def parse_edxml_timestamp(text: str) -> datetime:
    """Parse "yyyy/MM/dd HH:mm:ss" (Vietnam time) into an aware UTC datetime."""
    match = _EDXML_TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ContractError(f"invalid timestamp {text!r}: expected yyyy/MM/dd HH:mm:ss")
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        local = datetime(year, month, day, hour, minute, second, tzinfo=VIETNAM_TZ)
    except ValueError as exc:
        raise ContractError(f"invalid timestamp {text!r}: {exc}") from None
    return local.astimezone(UTC)


# --- OrganId and DocumentId -----------------------------------------------------------------------

ORGAN_ID_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$"
"""Mã định danh điện tử of an agency, e.g. 000.00.00.H41 (level-1 code last, QĐ 20/2020/QĐ-TTg)."""
_ORGAN_ID = re.compile(ORGAN_ID_PATTERN)

OrganIdentifier = Annotated[str, StringConstraints(pattern=ORGAN_ID_PATTERN)]
"""A field holding an OrganId; validated by pattern, which also appears in the JSON Schema."""


def validate_organ_id(value: str) -> str:
    if not _ORGAN_ID.match(value):
        raise ContractError(f"invalid OrganId {value!r}: expected a code like 000.00.00.H41")
    return value


class DocumentIdParts(NamedTuple):
    """The three parts of an edXML DocumentId."""

    organ_id: str
    promulgation_date: date
    code: str
    """Số, ký hiệu as the issuer wrote it, e.g. "7816/VPCP-TTĐT"."""


# The code part is only checked for shape: it is another agency's identifier, not ours to police.
_CODE_IN_ID = re.compile(r"[0-9]+/[^\s,]+")


def build_document_id(organ_id: str, promulgation_date: date, code: str) -> str:
    """ "OrganId,yyyy/MM/dd,Code", e.g. "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT"."""
    validate_organ_id(organ_id)
    text = _nfc(code)
    if not _CODE_IN_ID.fullmatch(text):
        raise ContractError(f"invalid code {code!r} for a DocumentId: expected number/notation")
    return f"{organ_id},{format_edxml_date(promulgation_date)},{text}"


def parse_document_id(value: str) -> DocumentIdParts:
    parts = _nfc(value).split(",")
    if len(parts) != 3:
        raise ContractError(
            f"invalid DocumentId {value!r}: expected OrganId,yyyy/MM/dd,Code "
            "(e.g. 000.00.00.G22,2018/09/20,7816/VPCP-TTĐT)"
        )
    organ_id, day, code = parts
    try:
        validate_organ_id(organ_id)
        promulgation_date = parse_edxml_date(day)
    except ContractError as exc:
        raise ContractError(f"invalid DocumentId {value!r}: {exc}") from None
    if not _CODE_IN_ID.fullmatch(code):
        raise ContractError(f"invalid DocumentId {value!r}: code {code!r} is not number/notation")
    return DocumentIdParts(organ_id, promulgation_date, code)


def validate_document_id(value: str) -> str:
    """Return the DocumentId NFC-normalized if it is well formed (dedup compares these strings)."""
    parts = parse_document_id(value)
    return build_document_id(parts.organ_id, parts.promulgation_date, parts.code)


DocumentIdentifier = Annotated[str, AfterValidator(validate_document_id)]
"""A field holding an edXML DocumentId."""
