"""Read-side queries: the figures of the reports, computed in SQL over the read models.

The cut-off instant (``as_of``) is always explicit, so a past month's report is the same
whenever it is produced. A due date is met by anything done during its office-local day; the SQL
expression built by ``_due_end`` is that day's end as an instant. (SQL text is assembled only
from this module's constants; every value is a bound parameter, hence the S608 waivers.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.calendar import WorkingCalendar, office_instant
from qlvb_reporting.adapters import orm
from qlvb_reporting.domain.periods import Period
from qlvb_reporting.domain.reports import (
    LaggingPerson,
    MonthlyCounts,
    MonthlyReport,
    OverdueDocument,
    PersonRef,
    ProgressRow,
    working_days_overdue,
)
from qlvb_reporting.domain.text import prefix_tsquery

TZ = "'Asia/Ho_Chi_Minh'"


def _due_end(column: str) -> str:
    return f"(({column}) + 1)::timestamp AT TIME ZONE {TZ}"


DOC_DUE = "coalesce(d.case_due_date, d.doc_due_date)"


# -- people ---------------------------------------------------------------------------------------


async def people(session: AsyncSession) -> dict[str, PersonRef]:
    rows = await session.execute(
        select(orm.users.c.user_id, orm.users.c.full_name, orm.users.c.unit_id)
    )
    return {r.user_id: PersonRef(r.user_id, r.full_name, r.unit_id) for r in rows}


async def unit_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(orm.units.c.unit_id, orm.units.c.name))
    return {r.unit_id: r.name for r in rows}


def _person(users: dict[str, PersonRef], user_id: str) -> PersonRef:
    return users.get(user_id) or PersonRef(user_id, user_id, None)


async def open_handlers(
    session: AsyncSession, doc_ids: list[str], as_of: datetime
) -> dict[str, list[str]]:
    """The people holding each document at ``as_of`` (lead first), by open task."""
    if not doc_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT c.incoming_document_id AS doc, t.assignee FROM tasks t"
            " JOIN cases c ON c.case_id = t.case_id"
            " WHERE c.incoming_document_id = ANY(:ids) AND t.role <> 'information'"
            " AND t.assigned_at < :as_of AND (t.ended_at IS NULL OR t.ended_at >= :as_of)"
            " ORDER BY c.incoming_document_id, t.role, t.assigned_at, t.assignee"
        ),
        {"ids": doc_ids, "as_of": as_of},
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        held = out.setdefault(r.doc, [])
        if r.assignee not in held:
            held.append(r.assignee)
    return out


# -- Đ10 monthly report ---------------------------------------------------------------------------


async def monthly_report(
    session: AsyncSession,
    calendar: WorkingCalendar,
    period: Period,
    now: datetime,
    *,
    missing_features: str | None = None,
) -> MonthlyReport:
    as_of = period.as_of(now)
    window = {"start": period.start, "end": period.end, "as_of": as_of}
    due_end = _due_end(DOC_DUE)
    counts = (
        await session.execute(
            text(
                "SELECT count(*) AS received,"  # noqa: S608
                " count(*) FILTER (WHERE processed_at < :as_of) AS processed,"
                " count(*) FILTER (WHERE processed_at IS NULL OR processed_at >= :as_of)"
                "   AS in_progress,"
                " count(*) FILTER (WHERE (processed_at IS NULL OR processed_at >= :as_of)"
                "   AND due_end <= :as_of) AS overdue,"
                " count(*) FILTER (WHERE processed_at < :as_of AND processed_at >= due_end)"
                "   AS processed_late,"
                " count(*) FILTER (WHERE sla_met = false) AS registered_past_sla"
                f" FROM (SELECT d.processed_at, d.sla_met, {due_end} AS due_end"
                "  FROM incoming_documents d WHERE d.registered_at IS NOT NULL"
                "  AND d.arrival_date >= :start AND d.arrival_date < :end) AS cohort"
            ),
            window,
        )
    ).one()
    returned = await session.scalar(
        text(
            "SELECT count(*) FROM incoming_documents WHERE registered_at IS NULL"
            " AND returned_at >= :start AND returned_at < :as_of"
        ),
        window,
    )
    processed_in_month = await session.scalar(
        text(
            "SELECT count(*) FROM incoming_documents WHERE registered_at IS NOT NULL"
            " AND processed_at >= :start AND processed_at < :as_of"
        ),
        window,
    )
    overdue_rows = (
        await session.execute(
            text(
                "SELECT d.incoming_document_id, d.arrival_number, d.year, d.arrival_date,"  # noqa: S608
                " d.code_number, d.code_notation, d.organ_name, d.subject,"
                f" {DOC_DUE} AS due, d.first_handlers"
                " FROM incoming_documents d"
                " WHERE d.registered_at IS NOT NULL AND d.arrival_date < :as_of"
                " AND (d.processed_at IS NULL OR d.processed_at >= :as_of)"
                f" AND {due_end} <= :as_of"
                f" ORDER BY {DOC_DUE}, d.year, d.arrival_number, d.incoming_document_id"
            ),
            window,
        )
    ).all()
    users = await people(session)
    holders = await open_handlers(session, [r.incoming_document_id for r in overdue_rows], as_of)
    overdue = [
        OverdueDocument(
            incoming_document_id=r.incoming_document_id,
            arrival_number=r.arrival_number,
            year=r.year,
            arrival_date=r.arrival_date,
            code=f"{r.code_number}/{r.code_notation}",
            organ_name=r.organ_name,
            subject=r.subject,
            due_date=r.due,
            working_days_overdue=working_days_overdue(calendar, r.due, as_of),
            handlers=[
                _person(users, u)
                for u in holders.get(r.incoming_document_id) or (r.first_handlers or [])
            ],
        )
        for r in overdue_rows
    ]
    lagging = await lagging_people(session, period, as_of, users)
    return MonthlyReport(
        period_label=period.label,
        first=period.first,
        last=period.last,
        as_of=as_of,
        counts=MonthlyCounts(
            received=counts.received,
            processed=counts.processed,
            in_progress=counts.in_progress,
            overdue=counts.overdue,
            processed_late=counts.processed_late,
            registered_past_sla=counts.registered_past_sla,
            returned=returned or 0,
            processed_in_month=processed_in_month or 0,
            overdue_total=len(overdue),
        ),
        overdue_documents=overdue,
        lagging_people=lagging,
        missing_features=missing_features,
    )


async def lagging_people(
    session: AsyncSession, period: Period, as_of: datetime, users: dict[str, PersonRef]
) -> list[LaggingPerson]:
    """Who did not pass documents on as required during the month.

    - held a task past its due date at some time in the month (the interval from the due date's
      end to the task's end overlaps the month); a task received already overdue does not count
      against its new holder;
    - had a task passed on for them by the records admin (a forced forward, Đ9);
    - registered a document later than the register-and-forward SLA (Đ6).
    """
    window = {"start": period.start, "end": period.end, "as_of": as_of}
    task_due = _due_end("coalesce(t.due_date, d.case_due_date, d.doc_due_date)")
    rows = await session.execute(
        text(
            "WITH held AS ("  # noqa: S608
            " SELECT t.assignee, t.forced, t.ended_at, t.assigned_at,"
            f"  {task_due} AS due_end,"
            "  coalesce(d.arrival_number::text || '/' || d.year::text, c.case_id) AS label"
            " FROM tasks t JOIN cases c ON c.case_id = t.case_id"
            " LEFT JOIN incoming_documents d ON d.incoming_document_id = c.incoming_document_id"
            " WHERE t.role <> 'information' AND t.assigned_at < :as_of)"
            " SELECT assignee,"
            "  count(*) FILTER (WHERE late) AS held_past_due,"
            "  count(*) FILTER (WHERE forced_here) AS forced_forwards,"
            "  array_agg(DISTINCT label) FILTER (WHERE late OR forced_here) AS labels"
            " FROM (SELECT assignee, label,"
            "   (due_end < :as_of AND coalesce(ended_at, 'infinity') > :start"
            "    AND coalesce(ended_at, 'infinity') > due_end AND assigned_at < due_end) AS late,"
            "   (forced AND ended_at >= :start AND ended_at < :as_of) AS forced_here"
            "  FROM held) x"
            " GROUP BY assignee HAVING bool_or(late) OR bool_or(forced_here)"
        ),
        window,
    )
    out: dict[str, LaggingPerson] = {}

    def entry(user_id: str) -> LaggingPerson:
        if user_id not in out:
            who = _person(users, user_id)
            out[user_id] = LaggingPerson(user_id, who.full_name, who.unit_id)
        return out[user_id]

    for r in rows:
        e = entry(r.assignee)
        e.held_past_due = r.held_past_due
        e.forced_forwards = r.forced_forwards
        e.documents.extend(sorted(r.labels or []))
    clerks = await session.execute(
        text(
            "SELECT registered_by, count(*) AS n,"
            " array_agg(arrival_number::text || '/' || year::text ORDER BY arrival_number)"
            "  AS labels"
            " FROM incoming_documents WHERE registered_at IS NOT NULL AND sla_met = false"
            " AND registered_by IS NOT NULL"
            " AND arrival_date >= :start AND arrival_date < :end GROUP BY registered_by"
        ),
        window,
    )
    for r in clerks:
        e = entry(r.registered_by)
        e.late_registrations = r.n
        e.documents.extend(r.labels)
    return sorted(out.values(), key=lambda p: (p.unit_id or "", p.full_name, p.user_id))


# -- Đ19 progress ---------------------------------------------------------------------------------


async def progress(
    session: AsyncSession, period: Period, now: datetime, *, by: str, unit: str | None = None
) -> tuple[datetime, list[ProgressRow]]:
    """Open, overdue and done-this-month tasks grouped by ``by`` = "unit" or "person"."""
    as_of = period.as_of(now)
    task_due = _due_end("coalesce(t.due_date, d.case_due_date, d.doc_due_date)")
    group = "coalesce(u.unit_id, '')" if by == "unit" else "t.assignee"
    rows = await session.execute(
        text(
            f"SELECT {group} AS key, min(u.unit_id) AS unit_id,"  # noqa: S608
            " count(*) FILTER (WHERE is_open) AS open,"
            " count(*) FILTER (WHERE is_open AND due_end <= :as_of) AS overdue,"
            " count(*) FILTER (WHERE t.ended_at >= :start AND t.ended_at < :as_of) AS done"
            " FROM (SELECT t.*, (t.ended_at IS NULL OR t.ended_at >= :as_of) AS is_open,"
            f"   {task_due} AS due_end"
            "  FROM tasks t JOIN cases c ON c.case_id = t.case_id"
            "  LEFT JOIN incoming_documents d ON d.incoming_document_id = c.incoming_document_id"
            "  WHERE t.role <> 'information' AND t.assigned_at < :as_of) t"
            " LEFT JOIN users u ON u.user_id = t.assignee"
            " WHERE (CAST(:unit AS text) IS NULL OR u.unit_id = CAST(:unit AS text))"
            f" GROUP BY {group} ORDER BY 1"
        ),
        {"start": period.start, "as_of": as_of, "unit": unit},
    )
    result = rows.all()
    if by == "unit":
        names = await unit_names(session)
        out = [
            ProgressRow(
                r.key,
                names.get(r.key, r.key or "(chưa rõ đơn vị)"),
                r.key or None,
                r.open,
                r.overdue,
                r.done,
            )
            for r in result
        ]
    else:
        users = await people(session)
        out = [
            ProgressRow(
                r.key, _person(users, r.key).full_name, r.unit_id, r.open, r.overdue, r.done
            )
            for r in result
        ]
    return as_of, out


# -- Phụ lục IV registers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    total: int


async def incoming_register(
    session: AsyncSession,
    period: Period,
    *,
    register_id: str | None,
    limit: int | None,
    offset: int,
) -> Page:
    d = orm.incoming_documents
    where = and_(
        d.c.registered_at.is_not(None),
        d.c.arrival_date >= period.start,
        d.c.arrival_date < period.end,
        *([d.c.register_id == register_id] if register_id else []),
    )
    total = await session.scalar(select(func.count()).select_from(d).where(where)) or 0
    stmt = (
        select(d)
        .where(where)
        .order_by(d.c.year, d.c.register_id, d.c.arrival_number, d.c.incoming_document_id)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return Page(list((await session.execute(stmt)).all()), total)


async def outgoing_register(
    session: AsyncSession,
    period: Period,
    *,
    register_id: str | None,
    limit: int | None,
    offset: int,
) -> Page:
    o = orm.outgoing_documents
    where = and_(
        or_(
            and_(o.c.issued_date >= period.first, o.c.issued_date <= period.last),
            and_(
                o.c.issued_date.is_(None),
                o.c.year >= period.first.year,
                o.c.year <= period.last.year,
            ),
        ),
        *([o.c.register_id == register_id] if register_id else []),
    )
    total = await session.scalar(select(func.count()).select_from(o).where(where)) or 0
    stmt = (
        select(o)
        .where(where)
        .order_by(o.c.year, o.c.register_id, o.c.code_number, o.c.outgoing_document_id)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return Page(list((await session.execute(stmt)).all()), total)


# -- Đ17 search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    q: str | None = None
    kind: str | None = None
    """"incoming", "outgoing" or None for both."""
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    code: str | None = None
    organ: str | None = None
    type_name: str | None = None
    limit: int = 20
    offset: int = 0


def _incoming_status() -> Any:
    d = orm.incoming_documents
    return case((d.c.processed_at.is_not(None), "processed"), else_="in_progress")


def _ts_match(column: Any, tsquery: str) -> Any:
    """Full-text match on the normalized text (GIN index on to_tsvector('simple', ...))."""
    config: Any = literal_column("'simple'::regconfig")
    return func.to_tsvector(config, column).op("@@")(func.to_tsquery(config, tsquery))


def _contains(column: Any, needle: str) -> Any:
    return func.lower(column).contains(needle.lower(), autoescape=True)


async def search(session: AsyncSession, query: SearchQuery) -> Page:
    tsquery = prefix_tsquery(query.q) if query.q else None
    d, o = orm.incoming_documents, orm.outgoing_documents
    parts: list[Any] = []
    if query.kind in (None, "incoming"):
        status = _incoming_status()
        code = d.c.code_number + "/" + d.c.code_notation
        conds: list[Any] = [d.c.registered_at.is_not(None)]
        if tsquery:
            conds.append(_ts_match(d.c.search_text, tsquery))
        if query.date_from:
            conds.append(d.c.arrival_date >= office_instant(query.date_from, time(0)))
        if query.date_to:
            conds.append(
                d.c.arrival_date < office_instant(query.date_to + timedelta(days=1), time(0))
            )
        if query.status:
            conds.append(status == query.status)
        if query.code:
            conds.append(_contains(code, query.code))
        if query.organ:
            conds.append(_contains(d.c.organ_name, query.organ))
        if query.type_name:
            conds.append(func.lower(d.c.type_name) == query.type_name.lower())
        parts.append(
            select(
                literal("incoming").label("kind"),
                d.c.incoming_document_id.label("id"),
                cast(func.timezone("Asia/Ho_Chi_Minh", d.c.arrival_date), Date).label("date"),
                d.c.arrival_number.label("number"),
                code.label("code"),
                d.c.organ_name.label("organ_name"),
                d.c.type_name.label("type_name"),
                d.c.subject.label("subject"),
                status.label("status"),
            ).where(*conds)
        )
    if query.kind in (None, "outgoing"):
        conds = [o.c.state != "voided"]
        if tsquery:
            conds.append(_ts_match(o.c.search_text, tsquery))
        if query.date_from:
            conds.append(o.c.issued_date >= query.date_from)
        if query.date_to:
            conds.append(o.c.issued_date <= query.date_to)
        if query.status:
            conds.append(o.c.state == query.status)
        if query.code:
            conds.append(_contains(o.c.code, query.code))
        if query.organ:
            # Outgoing documents are the office's own: "organ" looks at their recipients.
            conds.append(_contains(cast(o.c.recipients, String), query.organ))
        if query.type_name:
            conds.append(func.lower(o.c.type_name) == query.type_name.lower())
        parts.append(
            select(
                literal("outgoing").label("kind"),
                o.c.outgoing_document_id.label("id"),
                o.c.issued_date.label("date"),
                o.c.code_number.label("number"),
                o.c.code.label("code"),
                literal(None, String).label("organ_name"),
                o.c.type_name.label("type_name"),
                o.c.subject.label("subject"),
                o.c.state.label("status"),
            ).where(*conds)
        )
    combined: Any = union_all(*parts) if len(parts) > 1 else parts[0]
    hits = combined.subquery("hits")
    total = await session.scalar(select(func.count()).select_from(hits)) or 0
    rows = await session.execute(
        select(hits)
        .order_by(hits.c.date.desc().nulls_last(), hits.c.kind, hits.c.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    return Page(list(rows.all()), total)
