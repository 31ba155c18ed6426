"""Rendering a report as XLSX (openpyxl) or as a Vietnamese PDF (fpdf2 with DejaVu Sans).

Both renderers take the same :class:`Export` — a title, a few lines of context and tables — so a
report is laid out once and comes out the same in both formats.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

Cell = str | int | float | date | datetime | None

FONT_FILE = "DejaVuSans.ttf"
BOLD_FONT_FILE = "DejaVuSans-Bold.ttf"


class FontMissing(RuntimeError):
    """The TTF needed to print Vietnamese is not installed; the PDF cannot be made."""


@dataclass
class ExportTable:
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    widths: list[float] | None = None
    """Relative column widths for the PDF."""


@dataclass
class Export:
    title: str
    lines: list[str] = field(default_factory=list)
    """Context printed under the title (period, cut-off, issuing office)."""
    tables: list[ExportTable] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value)


# -- XLSX -----------------------------------------------------------------------------------------

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def render_xlsx(export: Export) -> bytes:
    """One sheet per table; the title and context lines head each sheet."""
    workbook = Workbook()
    first = True
    used: set[str] = set()
    for table in export.tables or [ExportTable(export.title, [], [])]:
        name = _SHEET_FORBIDDEN.sub("-", table.title)[:31] or "Sheet"
        while name in used:
            name = name[:28] + f"-{len(used)}"
        used.add(name)
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        sheet.title = name
        first = False
        sheet.append([export.title])
        sheet["A1"].font = Font(bold=True, size=14)
        for line in export.lines:
            sheet.append([line])
        sheet.append([table.title])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(table.headers)
        header_row = sheet.max_row
        for col in range(1, len(table.headers) + 1):
            cell = sheet.cell(row=header_row, column=col)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in table.rows:
            sheet.append(
                [
                    # Excel has no time zone: instants are written as office wall-clock text.
                    _text(v) if isinstance(v, datetime) else v
                    for v in row
                ]
            )
        for line in export.footer:
            sheet.append([line])
        for col, header in enumerate(table.headers, start=1):
            width = max([len(header)] + [len(_text(r[col - 1])) for r in table.rows[:200]])
            sheet.column_dimensions[get_column_letter(col)].width = min(60, max(8, width + 2))
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- PDF ------------------------------------------------------------------------------------------


def render_pdf(export: Export, font_dir: Path, *, compress: bool = True) -> bytes:
    """A4 landscape, DejaVu Sans (it has every Vietnamese glyph); raises FontMissing."""
    regular, bold = font_dir / FONT_FILE, font_dir / BOLD_FONT_FILE
    for path in (regular, bold):
        if not path.is_file():
            raise FontMissing(
                f"{path} not found: install the DejaVu fonts (Debian/Ubuntu: fonts-dejavu-core) "
                "or set QLVB_REPORTING_PDF_FONT_DIR to a folder holding DejaVuSans.ttf and "
                "DejaVuSans-Bold.ttf"
            )
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_compression(compress)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_title(export.title)
    pdf.set_creator("QLVB & HSCV — reporting")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 8, export.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    for line in export.lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    for table in export.tables:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 7, table.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)
        if not table.rows:
            pdf.multi_cell(0, 6, "(không có)", new_x="LMARGIN", new_y="NEXT")
            continue
        widths = tuple(table.widths) if table.widths else None
        with pdf.table(
            col_widths=widths,
            headings_style=FontFace(emphasis="BOLD"),
            line_height=4.5,
            text_align="LEFT",
            repeat_headings=1,
        ) as grid:
            heading = grid.row()
            for h in table.headers:
                heading.cell(h)
            for row in table.rows:
                cells = grid.row()
                for value in row:
                    cells.cell(_text(value))
    if export.footer:
        pdf.ln(3)
        pdf.set_font("DejaVu", "", 10)
        for line in export.footer:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
