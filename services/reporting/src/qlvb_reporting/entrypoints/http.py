"""HTTP API of the reporting service: translate requests into queries, render, nothing more.

- ``/reports/monthly`` — Đ10 monthly control report (JSON, PDF, XLSX); leaders and HC-TC.
- ``/reports/progress`` — Đ19 progress per unit or per person; leaders and HC-TC.
- ``/reports/registers/{incoming,outgoing,follow-up}`` — Phụ lục IV registers; all staff.
- ``/search`` — Đ17 search of registered metadata; all staff (Đ4.2).
"""

# No ``from __future__ import annotations``: FastAPI evaluates the parameter annotations.
import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from qlvb_chassis.calendar import OFFICE_TZ, WorkingCalendar
from qlvb_chassis.db import Database
from qlvb_chassis.http.auth import Actor, Principal, require_principal, require_roles
from qlvb_chassis.http.problems import Problem
from qlvb_reporting.adapters.exports import Export, FontMissing, render_pdf, render_xlsx
from qlvb_reporting.domain.periods import InvalidPeriod, Period
from qlvb_reporting.service_layer import layouts, queries
from qlvb_reporting.settings import Settings

LEADERS = ("office_leader", "committee_leader", "records_admin")
"""Who reads the control report and the progress view (Đ10, Đ19), or their delegates."""

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Format(StrEnum):
    JSON = "json"
    PDF = "pdf"
    XLSX = "xlsx"


@dataclass(frozen=True)
class Context:
    db: Database
    calendar: WorkingCalendar
    settings: Settings


def context(request: Request) -> Context:
    ctx: Context = request.app.state.reporting
    return ctx


Ctx = Annotated[Context, Depends(context)]
Leader = Annotated[Actor, Depends(require_roles(*LEADERS))]
Staff = Annotated[Principal, Depends(require_principal())]


def _now() -> datetime:
    return datetime.now(UTC)


def _bad_period(exc: InvalidPeriod) -> Problem:
    return Problem(400, "Invalid period", str(exc), slug="invalid-period")


def _period(year: int | None, date_from: date | None, date_to: date | None) -> Period:
    try:
        if date_from is not None or date_to is not None:
            if date_from is None or date_to is None:
                raise InvalidPeriod("give both from and to, or a year")
            if year is not None:
                raise InvalidPeriod("give either a year or from/to, not both")
            if (date_to - date_from).days > 366 * 5:
                raise InvalidPeriod("a period spans at most five years")
            return Period(date_from, date_to)
        return Period.year(year if year is not None else _now().year)
    except InvalidPeriod as exc:
        raise _bad_period(exc) from None


def _month(month: str | None) -> Period:
    try:
        if month is None:
            today = _now().astimezone(OFFICE_TZ).date()
            return Period.month(today.year, today.month)
        return Period.parse_month(month)
    except InvalidPeriod as exc:
        raise _bad_period(exc) from None


async def _render(ctx: Context, export: Export, fmt: Format, filename: str) -> Response:
    # Rendering is CPU work (seconds for a month of a large office's register): in a thread, so
    # that the event loop — every other request, the consumers — is not frozen meanwhile.
    if fmt is Format.XLSX:
        body, media = await asyncio.to_thread(render_xlsx, export), XLSX
    else:
        try:
            body = await asyncio.to_thread(render_pdf, export, ctx.settings.pdf_font_dir)
        except FontMissing as exc:
            raise Problem(
                503, "PDF export unavailable", str(exc), slug="pdf-font-missing"
            ) from None
        media = "application/pdf"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt.value}"'},
    )


def _json(data: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(data))


router = APIRouter(tags=["reports"])


@router.get("/reports/monthly", summary="Đ10 monthly control report (báo cáo hàng tháng)")
async def monthly_report(
    ctx: Ctx,
    actor: Leader,
    month: Annotated[
        str | None, Query(description="YYYY-MM, office time; default this month")
    ] = None,
    format: Format = Format.JSON,
    missing_features: Annotated[
        str | None, Query(max_length=4000, description="Free text: features still missing")
    ] = None,
) -> Response:
    period = _month(month)
    async with queries.reading(ctx.db) as session:
        report = await queries.monthly_report(
            session, ctx.calendar, period, _now(), missing_features=missing_features
        )
    if format is Format.JSON:
        return _json(layouts.monthly_json(report))
    filename = f"bao-cao-thang-{period.first:%Y-%m}"
    return await _render(ctx, layouts.monthly_export(report), format, filename)


class GroupBy(StrEnum):
    UNIT = "unit"
    PERSON = "person"


@router.get("/reports/progress", summary="Đ19 progress per unit or per person (tiến độ)")
async def progress(
    ctx: Ctx,
    actor: Leader,
    by: GroupBy = GroupBy.UNIT,
    month: Annotated[str | None, Query(description="YYYY-MM; default this month")] = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    period = _month(month)
    async with queries.reading(ctx.db) as session:
        as_of, rows = await queries.progress(session, period, _now(), by=by.value, unit=unit)
    return _json(
        {
            "period": {"label": period.label, "first": period.first, "last": period.last},
            "as_of": as_of,
            "by": by.value,
            "rows": layouts.progress_json(rows),
        }
    )


# -- registers ------------------------------------------------------------------------------------

YearQ = Annotated[int | None, Query(ge=2000, le=2100)]
FromQ = Annotated[date | None, Query(alias="from")]
ToQ = Annotated[date | None, Query(alias="to")]
PageQ = Annotated[int, Query(ge=1, le=100_000)]
SizeQ = Annotated[int, Query(ge=1, le=5000)]
RegisterQ = Annotated[str | None, Query(max_length=200)]


def _page_json(period: Period, rows: list[dict[str, Any]], total: int, page: int, size: int) -> Any:
    return {
        "period": {"label": period.label, "first": period.first, "last": period.last},
        "total": total,
        "page": page,
        "page_size": size,
        "rows": rows,
    }


@router.get("/reports/registers/incoming", summary="Sổ đăng ký văn bản đến (Phụ lục IV)")
async def incoming_register(
    ctx: Ctx,
    _: Staff,
    year: YearQ = None,
    date_from: FromQ = None,
    date_to: ToQ = None,
    register_id: RegisterQ = None,
    format: Format = Format.JSON,
    page: PageQ = 1,
    page_size: SizeQ = 500,
) -> Response:
    period = _period(year, date_from, date_to)
    paged = format is Format.JSON
    async with queries.reading(ctx.db) as session:
        found = await queries.incoming_register(
            session,
            period,
            register_id=register_id,
            limit=page_size if paged else None,
            offset=(page - 1) * page_size if paged else 0,
        )
        people = await queries.people(session)
    rows = layouts.incoming_register_rows(found.rows, people)
    if paged:
        return _json(_page_json(period, rows, found.total, page, page_size))
    table = layouts.table("Sổ đăng ký văn bản đến", layouts.INCOMING_REGISTER, rows)
    export = layouts.register_export("SỔ ĐĂNG KÝ VĂN BẢN ĐẾN", period.label, table)
    return await _render(ctx, export, format, f"so-van-ban-den-{period.first}-{period.last}")


@router.get("/reports/registers/outgoing", summary="Sổ đăng ký văn bản đi (Phụ lục IV)")
async def outgoing_register(
    ctx: Ctx,
    _: Staff,
    year: YearQ = None,
    date_from: FromQ = None,
    date_to: ToQ = None,
    register_id: RegisterQ = None,
    format: Format = Format.JSON,
    page: PageQ = 1,
    page_size: SizeQ = 500,
) -> Response:
    period = _period(year, date_from, date_to)
    paged = format is Format.JSON
    async with queries.reading(ctx.db) as session:
        found = await queries.outgoing_register(
            session,
            period,
            register_id=register_id,
            limit=page_size if paged else None,
            offset=(page - 1) * page_size if paged else 0,
        )
    rows = layouts.outgoing_register_rows(found.rows)
    if paged:
        return _json(_page_json(period, rows, found.total, page, page_size))
    table = layouts.table("Sổ đăng ký văn bản đi", layouts.OUTGOING_REGISTER, rows)
    export = layouts.register_export("SỔ ĐĂNG KÝ VĂN BẢN ĐI", period.label, table)
    return await _render(ctx, export, format, f"so-van-ban-di-{period.first}-{period.last}")


@router.get(
    "/reports/registers/follow-up",
    summary="Sổ theo dõi giải quyết văn bản đến (Phụ lục IV)",
)
async def follow_up_register(
    ctx: Ctx,
    _: Staff,
    year: YearQ = None,
    date_from: FromQ = None,
    date_to: ToQ = None,
    register_id: RegisterQ = None,
    format: Format = Format.JSON,
    page: PageQ = 1,
    page_size: SizeQ = 500,
) -> Response:
    period = _period(year, date_from, date_to)
    paged = format is Format.JSON
    now = _now()
    async with queries.reading(ctx.db) as session:
        found = await queries.incoming_register(
            session,
            period,
            register_id=register_id,
            limit=page_size if paged else None,
            offset=(page - 1) * page_size if paged else 0,
        )
        people = await queries.people(session)
        holders = await queries.open_handlers(
            session, [r.incoming_document_id for r in found.rows], now
        )
    rows = layouts.follow_up_rows(found.rows, people, holders, ctx.calendar, now)
    if paged:
        return _json(_page_json(period, rows, found.total, page, page_size))
    table = layouts.table("Sổ theo dõi giải quyết văn bản đến", layouts.FOLLOW_UP_REGISTER, rows)
    export = layouts.register_export("SỔ THEO DÕI GIẢI QUYẾT VĂN BẢN ĐẾN", period.label, table)
    return await _render(ctx, export, format, f"so-theo-doi-{period.first}-{period.last}")


# -- search ---------------------------------------------------------------------------------------


class Kind(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class Status(StrEnum):
    IN_PROGRESS = "in_progress"
    PROCESSED = "processed"
    NUMBERED = "numbered"
    ISSUED = "issued"
    RECALLED = "recalled"


search_router = APIRouter(tags=["search"])


@search_router.get("/search", summary="Đ17 search of incoming and outgoing documents")
async def search(
    ctx: Ctx,
    _: Staff,
    q: Annotated[
        str | None,
        Query(max_length=500, description="Words of any field; accents optional"),
    ] = None,
    kind: Kind | None = None,
    status: Status | None = None,
    date_from: FromQ = None,
    date_to: ToQ = None,
    code: Annotated[str | None, Query(max_length=200, description="Số, ký hiệu contains")] = None,
    organ: Annotated[str | None, Query(max_length=300)] = None,
    type_name: Annotated[str | None, Query(max_length=200)] = None,
    page: PageQ = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Response:
    if date_from is not None and date_to is not None and date_to < date_from:
        raise _bad_period(InvalidPeriod(f"to ({date_to}) is before from ({date_from})"))
    query = queries.SearchQuery(
        q=q,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        date_from=date_from,
        date_to=date_to,
        code=code,
        organ=organ,
        type_name=type_name,
        limit=page_size,
        offset=(page - 1) * page_size,
        total_limit=ctx.settings.search_total_limit,
    )
    async with queries.reading(ctx.db) as session:
        found = await queries.search(session, query)
    return _json(
        {
            "total": found.total,
            # More documents match than are counted: "total" is then search_total_limit.
            "total_capped": found.capped,
            "page": page,
            "page_size": page_size,
            "results": [dict(r._mapping) for r in found.rows],
        }
    )
