"""How each report is laid out: rows with named columns (JSON) and the same rows as an
:class:`Export` (XLSX, PDF) with the Vietnamese column headings of NĐ 30/2020 Phụ lục IV."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from qlvb_chassis.calendar import WorkingCalendar, to_office_time
from qlvb_reporting.adapters.exports import Cell, Export, ExportTable
from qlvb_reporting.domain.reports import (
    MonthlyReport,
    PersonRef,
    ProgressRow,
    incoming_state,
    progress_text,
)

OFFICE = "VĂN PHÒNG HĐND VÀ UBND THÀNH PHỐ"

Column = tuple[str, str, float]
"""(JSON key, heading, relative PDF width)."""

INCOMING_REGISTER: list[Column] = [
    ("arrival_date", "Ngày đến", 1.2),
    ("arrival_number", "Số đến", 0.7),
    ("author", "Tác giả", 2.0),
    ("code", "Số, ký hiệu", 1.4),
    ("document_date", "Ngày tháng", 1.0),
    ("type_and_subject", "Tên loại và trích yếu nội dung", 3.5),
    ("receiving", "Đơn vị hoặc người nhận", 1.8),
    ("passed_on", "Ngày chuyển", 1.2),
    ("signature", "Ký nhận", 0.8),
    ("notes", "Ghi chú", 1.4),
]
OUTGOING_REGISTER: list[Column] = [
    ("code", "Số, ký hiệu văn bản", 1.4),
    ("date", "Ngày tháng văn bản", 1.0),
    ("type_and_subject", "Tên loại và trích yếu nội dung", 3.5),
    ("signer", "Người ký", 1.5),
    ("recipients", "Nơi nhận văn bản", 2.2),
    ("file_copy_unit", "Đơn vị, người nhận bản lưu", 1.3),
    ("copies", "Số lượng bản", 0.7),
    ("date_sent", "Ngày chuyển", 1.1),
    ("signature", "Ký nhận", 0.8),
    ("notes", "Ghi chú", 1.4),
]
FOLLOW_UP_REGISTER: list[Column] = [
    ("arrival_number", "Số đến", 0.7),
    ("document", "Tên loại, số, ký hiệu, ngày tháng, cơ quan ban hành", 3.5),
    ("receiving", "Đơn vị hoặc người nhận", 1.8),
    ("due_date", "Thời hạn giải quyết", 1.1),
    ("progress", "Tiến độ giải quyết", 1.8),
    ("reply", "Số, ký hiệu văn bản trả lời", 1.5),
    ("notes", "Ghi chú", 1.4),
]


def _local(value: datetime | None) -> datetime | None:
    return to_office_time(value) if value is not None else None


def _names(people: dict[str, PersonRef], ids: Sequence[str] | None) -> str:
    return ", ".join(people[i].full_name if i in people else i for i in ids or [])


def incoming_register_rows(
    rows: Sequence[Any], people: dict[str, PersonRef]
) -> list[dict[str, Any]]:
    return [
        {
            "incoming_document_id": r.incoming_document_id,
            "arrival_date": _local(r.arrival_date),
            "arrival_number": r.arrival_number,
            "author": r.organ_name,
            "code": f"{r.code_number}/{r.code_notation}",
            "document_date": r.promulgation_date,
            "type_and_subject": f"{r.type_name}: {r.subject}",
            "receiving": _names(people, r.first_handlers),
            "passed_on": _local(r.registered_at),
            "signature": "",
            "notes": "; ".join(
                n for n in (r.notes, "nhập bù sau sự cố" if r.backfilled else None) if n
            ),
        }
        for r in rows
    ]


def outgoing_register_rows(rows: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        notes = {
            "voided": f"Số bị hủy: {r.void_reason}",
            "recalled": f"Đã thu hồi: {r.recall_reason}",
            "numbered": "Đã cấp số, chưa phát hành",
        }.get(r.state, "")
        signer = ", ".join(p for p in (r.signer_position, r.signer) if p)
        out.append(
            {
                "outgoing_document_id": r.outgoing_document_id,
                "code": r.code,
                "date": r.issued_date,
                "type_and_subject": f"{r.type_name}: {r.subject}" if r.subject else "",
                "signer": signer,
                "recipients": "; ".join(r.recipients or []),
                "file_copy_unit": "",
                "copies": r.issued_amount,
                "date_sent": _local(r.issued_at),
                "signature": "",
                "notes": notes,
                "state": r.state,
            }
        )
    return out


def follow_up_rows(
    rows: Sequence[Any],
    people: dict[str, PersonRef],
    holders: dict[str, list[str]],
    calendar: WorkingCalendar,
    as_of: datetime,
) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        due = r.case_due_date or r.doc_due_date
        state = incoming_state(r.processed_at, None, as_of)
        out.append(
            {
                "incoming_document_id": r.incoming_document_id,
                "arrival_number": r.arrival_number,
                "document": (
                    f"{r.type_name} số {r.code_number}/{r.code_notation} ngày "
                    f"{r.promulgation_date:%d/%m/%Y} của {r.organ_name}"
                ),
                "receiving": _names(
                    people, holders.get(r.incoming_document_id) or r.first_handlers
                ),
                "due_date": due,
                "progress": progress_text(
                    calendar, processed_at=r.processed_at, due=due, as_of=as_of
                ),
                "state": state,
                "processed_at": r.processed_at,
                "reply": ", ".join(r.reply_codes or []),
                "notes": r.notes or "",
            }
        )
    return out


def table(title: str, columns: list[Column], rows: list[dict[str, Any]]) -> ExportTable:
    return ExportTable(
        title=title,
        headers=[heading for _, heading, _ in columns],
        rows=[[_cell(row.get(key)) for key, _, _ in columns] for row in rows],
        widths=[width for _, _, width in columns],
    )


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, datetime):
        return to_office_time(value)
    return value  # type: ignore[no-any-return]


def register_export(title: str, period_label: str, table_: ExportTable) -> Export:
    return Export(
        title=title,
        lines=[OFFICE, f"Kỳ: {period_label}", f"Số dòng: {len(table_.rows)}"],
        tables=[table_],
    )


# -- Đ10 monthly report ---------------------------------------------------------------------------


def monthly_json(report: MonthlyReport) -> dict[str, Any]:
    return {
        "period": {"label": report.period_label, "first": report.first, "last": report.last},
        "as_of": report.as_of,
        "counts": dataclasses.asdict(report.counts),
        "overdue_documents": [dataclasses.asdict(d) for d in report.overdue_documents],
        "lagging_people": [dataclasses.asdict(p) for p in report.lagging_people],
        "missing_features": report.missing_features,
    }


def monthly_export(report: MonthlyReport) -> Export:
    c = report.counts
    summary = ExportTable(
        title="I. Số liệu văn bản đến",
        headers=["Chỉ tiêu", "Số lượng"],
        rows=[
            ["Tổng số văn bản đến trong tháng", c.received],
            ["Số văn bản đến đã xử lý", c.processed],
            ["Số văn bản đến đang xử lý", c.in_progress],
            ["Số văn bản quá hạn xử lý", c.overdue],
            ["Đã xử lý nhưng trễ hạn", c.processed_late],
            ["Vào sổ, chuyển quá 4 giờ làm việc", c.registered_past_sla],
            ["Văn bản trả lại (phiếu trả)", c.returned],
            ["Văn bản đã xử lý trong tháng (mọi thời điểm đến)", c.processed_in_month],
            ["Tổng số văn bản đang quá hạn tại thời điểm báo cáo", c.overdue_total],
        ],
        widths=[5, 1],
    )
    overdue = ExportTable(
        title="II. Danh mục văn bản đến quá hạn xử lý",
        headers=[
            "Số đến",
            "Số, ký hiệu",
            "Cơ quan ban hành",
            "Trích yếu",
            "Hạn xử lý",
            "Số ngày quá hạn",
            "Người đang xử lý",
        ],
        rows=[
            [
                f"{d.arrival_number}/{d.year}",
                d.code,
                d.organ_name,
                d.subject,
                d.due_date,
                d.working_days_overdue,
                ", ".join(p.full_name for p in d.handlers),
            ]
            for d in report.overdue_documents
        ],
        widths=[0.8, 1.4, 1.8, 3.5, 1.0, 0.8, 1.8],
    )
    lagging = ExportTable(
        title="III. Cán bộ chưa chuyển văn bản trên mạng theo đúng quy định",
        headers=[
            "Họ và tên",
            "Đơn vị",
            "Giữ quá hạn",
            "Bị chuyển thay (Đ9)",
            "Vào sổ quá hạn",
            "Văn bản",
        ],
        rows=[
            [
                p.full_name,
                p.unit_id,
                p.held_past_due,
                p.forced_forwards,
                p.late_registrations,
                _some(p.documents),
            ]
            for p in report.lagging_people
        ],
        widths=[2, 1, 1, 1, 1, 3],
    )
    return Export(
        title=f"BÁO CÁO TÌNH HÌNH XỬ LÝ VĂN BẢN ĐẾN {report.period_label.upper()}",
        lines=[
            OFFICE,
            f"Kỳ báo cáo: {report.first:%d/%m/%Y} – {report.last:%d/%m/%Y}",
            f"Số liệu tính đến: {to_office_time(report.as_of):%H:%M %d/%m/%Y}",
        ],
        tables=[summary, overdue, lagging],
        footer=[
            "IV. Những tiện ích còn thiếu, cần chỉnh sửa để hoàn thiện phần mềm:",
            report.missing_features or "(không có)",
        ],
    )


PRINTED_DOCUMENTS = 40
"""Document numbers printed per person in the report's exports (the JSON lists them all): a
person may hold hundreds late in a month, and a table row must fit on a PDF page."""


def _some(labels: Sequence[str]) -> str:
    shown = ", ".join(labels[:PRINTED_DOCUMENTS])
    if len(labels) > PRINTED_DOCUMENTS:
        shown += f" và {len(labels) - PRINTED_DOCUMENTS} văn bản khác"
    return shown


def progress_json(rows: list[ProgressRow]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(r) for r in rows]
