"""Domain rules of intake, without I/O."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from qlvb_chassis.calendar import CalendarData, WorkingCalendar, office_instant
from qlvb_contracts.payloads.intake import RefusalCategory
from qlvb_intake.domain.attachments import sniff_electronic, sniff_scan
from qlvb_intake.domain.model import (
    InvalidConfidentialityMark,
    InvalidTimes,
    PaperDocumentForm,
    arrival_year,
    defects_of_form,
    duplicate_key,
    out_of_scope,
    receipt_times,
    register_sla,
)

FORM = {"OrganName": "Sở Tài chính", "TypeName": "Công văn", "Subject": "V/v dự toán 2025"}


def test_form_enforces_required_fields_and_lengths() -> None:
    PaperDocumentForm.model_validate(FORM)
    for missing in ("OrganName", "TypeName", "Subject"):
        with pytest.raises(ValidationError):
            PaperDocumentForm.model_validate({k: v for k, v in FORM.items() if k != missing})
    with pytest.raises(ValidationError):
        PaperDocumentForm.model_validate(FORM | {"Subject": "x" * 501})
    with pytest.raises(ValidationError):
        PaperDocumentForm.model_validate(FORM | {"CodeNumber": "1" * 12})
    with pytest.raises(ValidationError):
        PaperDocumentForm.model_validate(FORM | {"CodeNotation": "A" * 31})
    with pytest.raises(ValidationError):
        PaperDocumentForm.model_validate(FORM | {"unknown": 1})
    with pytest.raises(ValidationError):
        PaperDocumentForm.model_validate(FORM | {"received_at": "2025-01-02T08:00:00"})
    form = PaperDocumentForm.model_validate(FORM | {"first_handlers": ["a", "b", "a"]})
    assert form.first_handlers == ["a", "b"]


def test_defects_of_form_seed_article_6_1() -> None:
    assert (
        defects_of_form(code_number="12", promulgation_date=date(2025, 1, 2), has_seal=True) == []
    )
    reasons = defects_of_form(code_number=" ", promulgation_date=None, has_seal=False)
    assert reasons == [
        "Văn bản không có số",
        "Văn bản không ghi ngày tháng ban hành",
        "Văn bản không đóng dấu",
    ]
    assert defects_of_form(
        code_number="1", promulgation_date=date(2025, 1, 2), has_seal=True, other=["Mực dấu mờ"]
    ) == ["Mực dấu mờ"]


@pytest.mark.parametrize("mark", ["Mật", "MẬT", "tối mật", "Tuyệt mật", "secret"])
def test_confidential_documents_are_out_of_scope(mark: str) -> None:
    refusal = out_of_scope(confidentiality=mark, complaint=False, type_name="Công văn", subject="x")
    assert refusal is not None
    assert refusal.category is RefusalCategory.CONFIDENTIAL
    assert "Điều 2" in refusal.message


def test_complaints_are_out_of_scope_and_unknown_marks_are_errors() -> None:
    by_flag = out_of_scope(confidentiality=None, complaint=True, type_name="Công văn", subject="x")
    assert by_flag is not None
    assert by_flag.category is RefusalCategory.COMPLAINT
    by_type = out_of_scope(
        confidentiality=None, complaint=False, type_name="Đơn", subject="Đơn khiếu nại về đất đai"
    )
    assert by_type is not None
    assert by_type.category is RefusalCategory.COMPLAINT
    assert (
        out_of_scope(confidentiality="", complaint=False, type_name="Công văn", subject="tố cáo")
        is None
    )
    with pytest.raises(InvalidConfidentialityMark):
        out_of_scope(confidentiality="hơi mật", complaint=False, type_name="x", subject="y")


def test_duplicate_key_ignores_leading_zeros_case_spacing_and_composition() -> None:
    a = duplicate_key("05", "qđ-ubnd", "Sở  Tài chính")
    b = duplicate_key("5", "QĐ-UBND", "sở tài chính")
    decomposed = duplicate_key("5", "QĐ-UBND", "So\u031b\u0309 Tài chính")
    assert a == b == decomposed
    assert duplicate_key("6", "QĐ-UBND", "Sở Tài chính") != a


def test_receipt_times_mark_backfill_and_refuse_the_future() -> None:
    now = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)
    tolerance = timedelta(minutes=5)
    fresh = receipt_times(now=now, received_at=None, registered_at=None, tolerance=tolerance)
    assert fresh.received_at == now
    assert not fresh.backfilled
    earlier = now - timedelta(days=2)
    back = receipt_times(
        now=now,
        received_at=earlier,
        registered_at=earlier + timedelta(hours=1),
        tolerance=tolerance,
    )
    assert back.backfilled
    assert back.registered_at == earlier + timedelta(hours=1)
    with pytest.raises(InvalidTimes):
        receipt_times(
            now=now, received_at=now + timedelta(hours=1), registered_at=None, tolerance=tolerance
        )
    with pytest.raises(InvalidTimes):
        receipt_times(now=now, received_at=None, registered_at=now, tolerance=tolerance)
    with pytest.raises(InvalidTimes):
        receipt_times(
            now=now,
            received_at=earlier,
            registered_at=earlier - timedelta(minutes=1),
            tolerance=tolerance,
        )


def test_arrival_year_is_the_office_year() -> None:
    # 31 Dec 2024 18:00 UTC is already 1 Jan 2025 01:00 in Hà Nội: the numbers restart.
    assert arrival_year(datetime(2024, 12, 31, 18, 0, tzinfo=UTC)) == 2025
    assert arrival_year(datetime(2024, 12, 31, 16, 0, tzinfo=UTC)) == 2024


def test_sla_counts_four_working_hours() -> None:
    calendar = WorkingCalendar(CalendarData())
    friday_afternoon = office_instant(date(2025, 3, 7), datetime(2025, 1, 1, 15, 0).time())
    sla = register_sla(calendar, friday_afternoon, friday_afternoon + timedelta(hours=1), 4)
    # 2 working hours on Friday, 2 more on Monday morning: 09:30.
    assert sla.deadline == office_instant(date(2025, 3, 10), datetime(2025, 1, 1, 9, 30).time())
    assert sla.met
    assert sla.working_time == timedelta(hours=1)
    late = register_sla(calendar, friday_afternoon, sla.deadline + timedelta(minutes=1), 4)
    assert not late.met


def test_scans_are_sniffed_by_content() -> None:
    assert sniff_scan(b"%PDF-1.7\n...") == "application/pdf"
    assert sniff_scan(b"II*\x00rest") == "image/tiff"
    assert sniff_scan(b"\x89PNG\r\n\x1a\nxx") == "image/png"
    assert sniff_scan(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_scan(b"MZ\x90\x00 an exe") is None
    assert sniff_scan("Phụ lục".encode()) is None


def test_electronic_attachments_allow_office_files_and_text_but_not_binaries() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert sniff_electronic(buffer.getvalue()) == "application/vnd.openxmlformats-officedocument"
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("evil.exe", "MZ")
    assert sniff_electronic(plain.getvalue()) is None
    assert sniff_electronic("Phụ lục biểu mẫu".encode()) == "text/plain; charset=utf-8"
    assert sniff_electronic(b"\x00\x01\x02binary") is None
    assert sniff_electronic(b"%PDF-1.4") == "application/pdf"
