"""Reference data: number formatting (NĐ 30/2020), OrganId, DocumentId, enums."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pytest

from qlvb_contracts.errors import ContractError
from qlvb_contracts.reference import (
    BusinessDocType,
    Confidentiality,
    CopyType,
    DocumentIdParts,
    DocumentType,
    OfficialCode,
    StatusCode,
    Urgency,
    build_document_id,
    format_code,
    format_edxml_date,
    format_edxml_timestamp,
    parse_code,
    parse_document_id,
    parse_edxml_date,
    parse_edxml_timestamp,
    validate_notation,
    validate_organ_id,
)


@pytest.mark.parametrize(
    ("number", "notation", "expected"),
    [
        (1, "QĐ-UBND", "01/QĐ-UBND"),
        (5, "QĐ-UBND", "05/QĐ-UBND"),
        (9, "TB-UBND", "09/TB-UBND"),
        (10, "KH-UBND", "10/KH-UBND"),
        (100, "BC-UBND", "100/BC-UBND"),
        (12, "UBND-VX", "12/UBND-VX"),  # công văn: issuer then drafting unit
        (3, "QyĐ-UBND", "03/QyĐ-UBND"),
        (7, "TTr-VP", "07/TTr-VP"),
        (2, "CTr-UBND", "02/CTr-UBND"),
        (4, "SY-VP", "04/SY-VP"),
        (8, "TrS-VP", "08/TrS-VP"),
        (15, "HĐND-VHXH", "15/HĐND-VHXH"),
    ],
)
def test_format_code(number: int, notation: str, expected: str) -> None:
    assert format_code(number, notation) == expected


@pytest.mark.parametrize(
    "notation",
    [
        "qđ-ubnd",
        "QĐ-ubnd",
        "Qđ-UBND",
        "ubnd-vx",
        "QĐ - UBND",
        "QĐ-UBND ",
        " QĐ-UBND",
        "QĐ UBND",
        "QĐ--UBND",
        "-UBND",
        "UBND-",
        "",
        "1QĐ-UBND",
        "QĐ/UBND",
    ],
)
def test_bad_notation_is_refused(notation: str) -> None:
    with pytest.raises(ContractError, match="invalid notation"):
        format_code(1, notation)


@pytest.mark.parametrize("number", [0, -1, True])
def test_bad_number_is_refused(number: int) -> None:
    with pytest.raises(ContractError, match="invalid document number"):
        format_code(number, "QĐ-UBND")


def test_notation_is_nfc_normalized() -> None:
    decomposed = unicodedata.normalize("NFD", "UBND-TTĐT-ỦB")
    assert validate_notation(decomposed) == unicodedata.normalize("NFC", "UBND-TTĐT-ỦB")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("12/UBND-VX", OfficialCode(12, "UBND-VX")),
        ("05/QĐ-UBND", OfficialCode(5, "QĐ-UBND")),
        ("5/QĐ-UBND", OfficialCode(5, "QĐ-UBND")),
        ("7816/VPCP-TTĐT", OfficialCode(7816, "VPCP-TTĐT")),
        ("123/QĐ-TTg", OfficialCode(123, "QĐ-TTg")),
    ],
)
def test_parse_code(code: str, expected: OfficialCode) -> None:
    assert parse_code(code) == expected


@pytest.mark.parametrize(
    "code",
    ["12 /UBND-VX", "12/ UBND-VX", "12/ubnd-vx", "UBND-VX", "/UBND", "0/UBND", "12/", "a/UBND"],
)
def test_parse_code_refuses_malformed(code: str) -> None:
    with pytest.raises(ContractError):
        parse_code(code)


@pytest.mark.parametrize("number", [1, 9, 10, 99, 100, 2718])
def test_format_and_parse_round_trip(number: int) -> None:
    assert parse_code(format_code(number, "QĐ-UBND")) == (number, "QĐ-UBND")


@pytest.mark.parametrize(
    "organ_id", ["000.00.00.H41", "000.00.12.H41", "000.00.00.G22", "001.05.15.H29"]
)
def test_valid_organ_ids(organ_id: str) -> None:
    assert validate_organ_id(organ_id) == organ_id


@pytest.mark.parametrize(
    "organ_id",
    ["000.00.00.h41", "00.00.00.H41", "000.00.00.H4", "000.00.00.H411", "vxp.saas.03", ""],
)
def test_invalid_organ_ids(organ_id: str) -> None:
    with pytest.raises(ContractError, match="invalid OrganId"):
        validate_organ_id(organ_id)


def test_document_id_build_and_parse() -> None:
    value = build_document_id("000.00.00.G22", date(2018, 9, 20), "7816/VPCP-TTĐT")
    assert value == "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT"
    assert parse_document_id(value) == DocumentIdParts(
        "000.00.00.G22", date(2018, 9, 20), "7816/VPCP-TTĐT"
    )


@pytest.mark.parametrize(
    "value",
    [
        "000.00.00.G22,2018/09/20",
        "000.00.00.G22,2018-09-20,7816/VPCP-TTĐT",
        "000.00.00.G22,2018/02/30,7816/VPCP-TTĐT",
        "G22,2018/09/20,7816/VPCP-TTĐT",
        "000.00.00.G22,2018/09/20,VPCP-TTĐT",
        "000.00.00.G22,2018/09/20,7816/VPCP TTĐT",
        "000.00.00.G22,2018/09/20,7816/VPCP,TTĐT",
    ],
)
def test_malformed_document_ids_are_refused(value: str) -> None:
    with pytest.raises(ContractError, match="invalid DocumentId"):
        parse_document_id(value)


def test_build_document_id_refuses_bad_parts() -> None:
    with pytest.raises(ContractError):
        build_document_id("000.00.00.g22", date(2018, 9, 20), "7816/VPCP-TTĐT")
    with pytest.raises(ContractError):
        build_document_id("000.00.00.G22", date(2018, 9, 20), "7816 / VPCP")


def test_edxml_dates_and_timestamps() -> None:
    assert format_edxml_date(date(2024, 7, 5)) == "2024/07/05"
    assert parse_edxml_date("2024/07/05") == date(2024, 7, 5)
    instant = datetime(2024, 7, 15, 7, 32, 5, tzinfo=UTC)
    assert format_edxml_timestamp(instant) == "2024/07/15 14:32:05"  # Vietnam time
    assert parse_edxml_timestamp("2024/07/15 14:32:05") == instant
    with pytest.raises(ContractError):
        parse_edxml_date("05/07/2024")
    with pytest.raises(ContractError):
        parse_edxml_timestamp("2024/07/15T14:32:05")


def test_urgency_is_edxml_priority() -> None:
    assert [u.value for u in Urgency] == [0, 1, 2, 3, 4]
    assert Urgency(3).label == "Hỏa tốc"
    assert Urgency.FLASH_TIMED.label == "Hỏa tốc hẹn giờ"
    assert not Urgency.NORMAL.is_urgent
    assert Urgency.URGENT.is_urgent


def test_status_codes_and_business_kinds() -> None:
    assert [s.value for s in StatusCode] == ["01", "02", "03", "04", "05", "06", "13", "15", "16"]
    assert StatusCode("02").label == "Từ chối tiếp nhận"
    assert [b.value for b in BusinessDocType] == [0, 1, 2, 3]
    assert BusinessDocType.REVOCATION.label == "Thu hồi"


def test_document_types_and_abbreviations() -> None:
    abbreviations = [t.abbreviation for t in DocumentType if t.abbreviation is not None]
    assert len(abbreviations) == 27 == len(set(abbreviations))
    assert DocumentType.CONG_VAN.abbreviation is None
    assert DocumentType.QUYET_DINH.abbreviation == "QĐ"
    assert DocumentType.from_abbreviation("QyĐ") is DocumentType.QUY_DINH
    assert DocumentType.from_name("CÔNG VĂN") is DocumentType.CONG_VAN
    assert DocumentType.TO_TRINH.label == "Tờ trình"
    assert [c.value for c in CopyType] == ["SY", "SL", "TrS"]
    with pytest.raises(ContractError):
        DocumentType.from_abbreviation("XYZ")


def test_confidentiality_marks_are_recognised() -> None:
    assert Confidentiality.from_mark("MẬT") is Confidentiality.CONFIDENTIAL
    assert Confidentiality.from_mark(" Tối mật ") is Confidentiality.SECRET
    assert Confidentiality.from_mark("TUYỆT MẬT") is Confidentiality.TOP_SECRET
    assert Confidentiality.from_mark("Khẩn") is None


def test_every_enum_member_has_a_vietnamese_label() -> None:
    for enum in (DocumentType, CopyType, Urgency, Confidentiality, StatusCode, BusinessDocType):
        for member in enum:
            assert member.label
