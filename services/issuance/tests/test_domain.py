"""Domain rules without I/O: number formatting, notations, registers, appendices, recipients,
state transitions, edXML packages and the register book."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from qlvb_chassis.numbering import AllocatedNumber
from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import Organization, Signer, parse_edxml
from qlvb_contracts.errors import ContractError
from qlvb_contracts.payloads.common import Recipient, ResponseLink
from qlvb_issuance.domain import model
from qlvb_issuance.domain.errors import Conflict, Invalid
from qlvb_issuance.domain.exchange import IssuedFacts, outbound_packages
from qlvb_issuance.domain.model import Agency, DocumentStatus, Register, Series, Unit
from qlvb_issuance.domain.outgoing_register import number_reference, register_rows


@pytest.mark.parametrize(
    ("number", "notation", "expected"),
    [
        (1, "QĐ-UBND", "01/QĐ-UBND"),
        (5, "QĐ-UBND", "05/QĐ-UBND"),
        (9, "UBND-VX", "09/UBND-VX"),
        (10, "UBND-VX", "10/UBND-VX"),
        (12, "UBND-VX", "12/UBND-VX"),
        (2718, "UBND-KT", "2718/UBND-KT"),
        (3, "SY-UBND", "03/SY-UBND"),
        (4, "TrS-UBND", "04/TrS-UBND"),
        (7, "QyĐ-UBND", "07/QyĐ-UBND"),
    ],
)
def test_number_format(number: int, notation: str, expected: str) -> None:
    assert model.format_code(number, notation) == expected


@pytest.mark.parametrize(
    ("number", "notation"), [(0, "QĐ-UBND"), (-1, "QĐ-UBND"), (1, "qđ-ubnd"), (1, "QĐ - UBND")]
)
def test_bad_numbers_and_notations_are_refused(number: int, notation: str) -> None:
    with pytest.raises(ContractError):
        model.format_code(number, notation)


def test_notation_by_type() -> None:
    assert model.code_notation("Quyết định", "UBND") == "QĐ-UBND"
    assert model.code_notation("quyết định", "UBND") == "QĐ-UBND"
    assert model.code_notation("Tờ trình", "UBND") == "TTr-UBND"
    assert model.code_notation("Công văn", "UBND", drafting_unit_code="VX") == "UBND-VX"
    assert model.code_notation("", "UBND", copy_type=ref.CopyType.SAO_Y) == "SY-UBND"
    with pytest.raises(Invalid):
        model.code_notation("Công văn", "UBND")  # needs the drafting unit
    with pytest.raises(Invalid):
        model.code_notation("Thư tay", "UBND")


def test_confirm_notation_prefers_clerk_then_draft_and_checks_the_type() -> None:
    assert model.confirm_notation("QĐ-UBND", "x", "Quyết định", "UBND", drafting_unit_code=None)
    assert (
        model.confirm_notation(None, "UBND-KT", "Công văn", "UBND", drafting_unit_code=None)
        == "UBND-KT"
    )
    with pytest.raises(Invalid):
        model.confirm_notation("TB-UBND", None, "Quyết định", "UBND", drafting_unit_code=None)
    with pytest.raises(Invalid):
        model.confirm_notation("qd ubnd", None, "Quyết định", "UBND", drafting_unit_code=None)


def test_register_catalog_rules() -> None:
    general = Register("VBHC", "HC", Series.ADMINISTRATIVE)
    decisions = Register("QD", "QĐ", Series.ADMINISTRATIVE, ("Quyết định",))
    normative = Register("QPPL", "QPPL", Series.NORMATIVE, ("Quyết định",))
    copies = Register("SAO", "Sao", Series.COPIES, copy_types=(ref.CopyType.SAO_Y,))
    catalog = [general, decisions, normative, copies]
    assert model.choose_register(catalog, "Quyết định") is decisions
    assert model.choose_register(catalog, "Công văn") is general
    with pytest.raises(Invalid):
        model.choose_register([normative, copies], "Công văn")
    with pytest.raises(Invalid):
        Register("N", "n", Series.NORMATIVE)  # one type per normative register
    with pytest.raises(Invalid):
        Register("C", "c", Series.COPIES, ("Công văn",))
    with pytest.raises(Invalid):
        model.check_register_fits(copies, "Công văn")
    with pytest.raises(Invalid):
        model.check_register_fits(decisions, "Công văn")
    model.check_register_fits(normative, "Quyết định")


def test_issued_date_is_the_office_day() -> None:
    # 18:30 UTC on 31 Dec is already 1 January in Hà Nội: the new year's register.
    assert model.issued_date(datetime(2024, 12, 31, 18, 30, tzinfo=UTC)) == date(2025, 1, 1)
    assert model.issued_date(datetime(2024, 12, 31, 16, 59, tzinfo=UTC)) == date(2024, 12, 31)


def test_missing_appendixes() -> None:
    declared = ["Phụ lục I: Biểu A", "Phụ lục II"]
    assert model.missing_appendixes(declared, ["phụ lục i:  biểu a"]) == ["Phụ lục II"]
    assert model.missing_appendixes(declared, ["Phụ lục II", "Phụ lục I: Biểu A"]) == []
    assert model.missing_appendixes([], [None]) == []


def test_confirm_recipients() -> None:
    units = {"VX": Unit("VX", "VX", "Phòng Văn xã")}
    agencies = {
        "000.00.12.H41": Agency("000.00.12.H41", "Sở Tài chính", electronic_exchange=True),
        "000.00.13.H41": Agency("000.00.13.H41", "UBND quận", electronic_exchange=False),
    }
    d = model.confirm_recipients(
        [
            Recipient(OrganName="typo", OrganId="000.00.12.H41"),
            Recipient(OrganName="x", OrganId="000.00.12.H41"),
            Recipient(OrganName="x", OrganId="000.00.13.H41"),
            Recipient(OrganName="x", unit_id="VX"),
            Recipient(OrganName=" Lưu: VT "),
        ],
        units,
        agencies,
    )
    assert [r.OrganName for r in d.recipients] == [
        "Sở Tài chính",
        "UBND quận",
        "Phòng Văn xã",
        "Lưu: VT",
    ]
    assert [a.OrganId for a in d.electronic] == ["000.00.12.H41"]
    for bad in (
        [Recipient(OrganName="x", OrganId="000.00.99.H41")],
        [Recipient(OrganName="x", unit_id="NOPE")],
        [Recipient(OrganName="x", unit_id="VX", OrganId="000.00.12.H41")],
        [],
    ):
        with pytest.raises(Invalid):
            model.confirm_recipients(bad, units, agencies)


def test_state_transitions() -> None:
    model.ensure_can_number(DocumentStatus.QUEUED)
    model.ensure_can_issue(DocumentStatus.NUMBERED)
    model.ensure_can_void(DocumentStatus.NUMBERED)
    model.ensure_can_recall(DocumentStatus.ISSUED)
    for check, status in [
        (model.ensure_can_number, DocumentStatus.NUMBERED),
        (model.ensure_can_issue, DocumentStatus.ISSUED),
        (model.ensure_can_issue, DocumentStatus.RECALLED),
        (model.ensure_can_void, DocumentStatus.QUEUED),
        (model.ensure_can_void, DocumentStatus.ISSUED),
        (model.ensure_can_recall, DocumentStatus.RECALLED),
        (model.ensure_can_recall, DocumentStatus.NUMBERED),
        (model.ensure_can_attach, DocumentStatus.ISSUED),
    ]:
        with pytest.raises(Conflict):
            check(status)


def _facts(responds_to: list[ResponseLink]) -> IssuedFacts:
    return IssuedFacts(
        outgoing_document_id="doc-1",
        code_number=7,
        code_notation="UBND-KT",
        issued_date=date(2024, 7, 26),
        type_name="Công văn",
        subject="V/v dự toán",
        signer=Signer(FullName="Lê Văn Thành", Position="Chủ tịch"),
        priority=ref.Urgency.URGENT,
        due_date=None,
        page_amount=3,
        issued_amount=4,
        appendixes=["Phụ lục I"],
        recipients=[Recipient(OrganName="Sở Tài chính", OrganId="000.00.12.H41")],
        responds_to=responds_to,
        attachments=[],
    )


def test_outbound_package_answers_only_the_recipients_own_documents() -> None:
    links = [
        ResponseLink(
            incoming_document_id="in-1", DocumentId="000.00.12.H41,2024/07/15,1234/STC-QLNS"
        ),
        ResponseLink(incoming_document_id="in-2", DocumentId="000.00.14.H41,2024/07/16,5/SXD-QH"),
        ResponseLink(incoming_document_id="in-3"),  # came on paper
    ]
    agencies = [
        Agency("000.00.12.H41", "Sở Tài chính", electronic_exchange=True),
        Agency("000.00.14.H41", "Sở Xây dựng", electronic_exchange=True),
    ]
    us = Organization(OrganId="000.00.00.H41", OrganName="UBND thành phố")
    at = datetime(2024, 7, 26, 2, 0, tzinfo=UTC)
    packages = outbound_packages(
        _facts(links), us=us, place="Thành phố", agencies=agencies, bucket="b", at=at
    )
    assert [p.recipient for p in packages] == ["000.00.12.H41", "000.00.14.H41"]
    first = parse_edxml(packages[0].edxml or b"")
    assert first.header.DocumentId == "000.00.00.H41,2024/07/26,07/UBND-KT"
    assert first.header.Code.CodeNumber == "07"
    assert [r.Code for r in first.header.ResponseFor] == ["1234/STC-QLNS"]
    assert first.header.OtherInfo.Priority == ref.Urgency.URGENT
    second = parse_edxml(packages[1].edxml or b"")
    assert [r.Code for r in second.header.ResponseFor] == ["5/SXD-QH"]
    recall = outbound_packages(
        _facts([]),
        us=us,
        place="Thành phố",
        agencies=agencies[:1],
        bucket="b",
        at=at,
        business=ref.BusinessDocType.REVOCATION,
        reason="Sai sót",
    )
    parsed = parse_edxml(recall[0].edxml or b"")
    assert parsed.business_doc_type == ref.BusinessDocType.REVOCATION
    assert recall[0].BussinessDocReason == "Sai sót"


def test_register_rows_keep_voided_numbers() -> None:
    now = datetime(2024, 7, 26, 2, 0, tzinfo=UTC)
    numbers = [
        AllocatedNumber("VBHC", 2024, 1, number_reference("QĐ-UBND", "a"), now, now, "Hỏng", "vt"),
        AllocatedNumber("VBHC", 2024, 2, number_reference("UBND-VX", "b"), now, None, None, None),
    ]
    docs = {
        "b": {
            "status": "issued",
            "type_name": "Công văn",
            "subject": "V/v x",
            "issued_date": date(2024, 7, 26),
            "issued_at": now,
            "signer_info": {"Position": "Chủ tịch", "FullName": "A"},
            "recipients": [{"OrganName": "Sở Tài chính"}, {"OrganName": "Phòng VX"}],
            "file_copy_unit": "VX",
            "issued_amount": 3,
        }
    }
    rows = register_rows(numbers, docs)
    assert [(r.code, r.status) for r in rows] == [
        ("01/QĐ-UBND", "voided"),
        ("02/UBND-VX", "issued"),
    ]
    assert "Hỏng" in rows[0].notes
    assert rows[1].recipients == "Sở Tài chính; Phòng VX"
    assert rows[1].file_copy == "VT, VX"
    assert rows[1].date_sent == date(2024, 7, 26)
