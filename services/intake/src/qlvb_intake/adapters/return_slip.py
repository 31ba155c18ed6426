"""The return slip (phiếu trả, seed Đ6.1) as a PDF in Vietnamese, drawn with fpdf2.

Vietnamese needs a Unicode TrueType font; the core PDF fonts cannot draw it. DejaVu Sans ships
with most Linux distributions; a missing font is a configuration error, reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from fpdf import FPDF

from qlvb_chassis.calendar import to_office_time


class ReturnSlipFontMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class ReturnSlip:
    office: str
    department: str
    organ_name: str
    code: str | None
    promulgation_date: date | None
    subject: str
    reasons: list[str]
    received_at: datetime
    returned_at: datetime
    prepared_by: str


def _date_vi(day: date) -> str:
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def render_return_slip(slip: ReturnSlip, *, font: Path, bold_font: Path) -> bytes:
    for path in (font, bold_font):
        if not path.is_file():
            raise ReturnSlipFontMissing(
                f"the Unicode font {path} needed to print return slips in Vietnamese is missing; "
                "install fonts-dejavu-core or set QLVB_INTAKE_RETURN_SLIP_FONT(_BOLD)"
            )
    pdf = FPDF(format="A4")
    pdf.set_title("Phiếu trả văn bản")
    pdf.set_creator("QLVB & HSCV")
    pdf.add_font("DejaVu", "", str(font))
    pdf.add_font("DejaVu", "B", str(bold_font))
    pdf.set_margins(20, 20, 20)
    pdf.add_page()

    def line(text: str, *, bold: bool = False, size: int = 12, align: str = "L") -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(0, 7, text, align=align, new_x="LMARGIN", new_y="NEXT")

    line(slip.office.upper(), bold=True, size=11, align="C")
    line(slip.department, size=11, align="C")
    line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=11, align="C")
    line("Độc lập - Tự do - Hạnh phúc", bold=True, size=11, align="C")
    pdf.ln(4)
    returned = to_office_time(slip.returned_at)
    line(f"Thành phố, {_date_vi(returned.date())}", align="R", size=11)
    pdf.ln(4)
    line("PHIẾU TRẢ VĂN BẢN", bold=True, size=15, align="C")
    pdf.ln(4)
    line(f"Kính gửi: {slip.organ_name}")
    pdf.ln(2)
    received = to_office_time(slip.received_at)
    code = f"số {slip.code}" if slip.code else "không số"
    dated = (
        _date_vi(slip.promulgation_date)
        if slip.promulgation_date
        else "không ghi ngày tháng ban hành"
    )
    line(
        f"{slip.office} nhận được văn bản {code}, {dated}, của {slip.organ_name} "
        f"về việc: {slip.subject} (nhận lúc {received:%H:%M} {_date_vi(received.date())})."
    )
    line(
        "Văn bản không đúng thể thức và thủ tục hành chính theo quy định "
        "(Nghị định số 30/2020/NĐ-CP về công tác văn thư), cụ thể:"
    )
    for reason in slip.reasons:
        line(f"    - {reason};")
    line(f"{slip.office} xin trả lại văn bản để Quý cơ quan hoàn chỉnh và gửi lại theo quy định.")
    pdf.ln(8)
    line("TRƯỞNG PHÒNG HÀNH CHÍNH – TỔ CHỨC", bold=True, align="R")
    line("(Ký, ghi rõ họ tên)", size=10, align="R")
    pdf.ln(20)
    line(f"Người lập phiếu: {slip.prepared_by}", size=10)
    return bytes(pdf.output())
