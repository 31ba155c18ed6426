"""The outgoing register as a spreadsheet (openpyxl), laid out like the paper book."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

from qlvb_issuance.domain.outgoing_register import COLUMNS, RegisterRow

_WIDTHS = (16, 12, 60, 28, 40, 16, 10, 12, 12, 30)


def register_workbook(title: str, rows: Sequence[RegisterRow]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has its first sheet
    ws.title = "So van ban di"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([label for _, label in COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for row in rows:
        ws.append(
            [
                row.code,
                row.issued_date.strftime("%d/%m/%Y") if row.issued_date else "",
                row.type_and_subject,
                row.signer,
                row.recipients,
                row.file_copy,
                row.copies,
                row.date_sent.strftime("%d/%m/%Y") if row.date_sent else "",
                row.signature,
                row.notes,
            ]
        )
    for index, width in enumerate(_WIDTHS, start=1):
        ws.column_dimensions[ws.cell(row=2, column=index).column_letter].width = width
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
