"""Read-side queries: the figures of the reports, computed in SQL over the read models.

The cut-off instant (``as_of``) is always explicit, so a past month's report is the same
whenever it is produced. A due date is met by anything done during its office-local day; the SQL
expression built by ``_due_end`` is that day's end as an instant. (SQL text is assembled only
from this module's constants; every value is a bound parameter, hence the S608 waivers.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
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

from qlvb_chassis.calendar import WorkingCalendar
from qlvb_chassis.db import Database
from qlvb_reporting.adapters import orm
from qlvb_reporting.domain.periods import Period
from qlvb_reporting.domain.reports import (
    LaggingPerson,
    MonthlyCounts,
    MonthlyReport,
    OverdueDays,
    OverdueDocument,
    PersonRef,
    ProgressRow,
)
from qlvb_reporting.domain.text import prefix_tsquery

TZ = "'Asia/Ho_Chi_Minh'"


def _due_end(column: str) -> str:
    return f"(({column}) + 1)::timestamp AT TIME ZONE {TZ}"


DOC_DUE = "coalesce(d.case_due_date, d.doc_due_date)"


@asynccontextmanager
async def reading(db: Database) -> AsyncIterator[AsyncSession]:
    """A session for one view: every query sees one read-only snapshot, and is planned for its
    own values. These queries are few and heavy, and how they should run depends on the values:
    a month long past or this one, a word in half the documents or in ten. Prepared statements
    switch to a generic plan after a few runs, which cannot know that."""
    async with db.snapshot() as uow:
        await uow.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        yield uow.session


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
    days_overdue = OverdueDays(calendar, as_of)
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
            working_days_overdue=days_overdue(r.due),
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
    # A task ended before the month can be neither late in it nor forced on in it: only the tasks
    # alive during the month are read (ix_tasks_open, ix_tasks_ended_at), not the whole history.
    rows = await session.execute(
        text(
            "WITH held AS ("  # noqa: S608
            " SELECT t.assignee, t.forced, t.ended_at, t.assigned_at,"
            f"  {task_due} AS due_end,"
            "  coalesce(d.arrival_number::text || '/' || d.year::text, c.case_id) AS label"
            " FROM tasks t JOIN cases c ON c.case_id = t.case_id"
            " LEFT JOIN incoming_documents d ON d.incoming_document_id = c.incoming_document_id"
            " WHERE t.role <> 'information' AND t.assigned_at < :as_of"
            " AND (t.ended_at IS NULL OR t.ended_at >= :start))"
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
    is_open = "(t.ended_at IS NULL OR t.ended_at >= :as_of)"
    # Only an open task's due date matters: the document is looked up for those alone.
    task_due = _due_end(
        "coalesce(t.due_date, (SELECT coalesce(d.case_due_date, d.doc_due_date)"
        " FROM incoming_documents d WHERE d.incoming_document_id = c.incoming_document_id))"
    )
    group = "coalesce(u.unit_id, '')" if by == "unit" else "t.assignee"
    # Everyone who ever held a task before ``as_of`` has a row, zeros included; their tasks
    # ended before the period add nothing to it, so only the tasks alive during the period are
    # read (ix_tasks_open, ix_tasks_ended_at). The holders come from a loose scan of
    # ix_tasks_holder: one probe per person instead of a pass over the whole history.
    rows = await session.execute(
        text(
            "WITH RECURSIVE holders AS ("  # noqa: S608
            "  SELECT (SELECT min(assignee) FROM tasks WHERE role <> 'information'"
            "   AND assigned_at < :as_of) AS assignee"
            "  UNION ALL"
            "  SELECT (SELECT min(t.assignee) FROM tasks t WHERE t.role <> 'information'"
            "   AND t.assigned_at < :as_of AND t.assignee > h.assignee)"
            "  FROM holders h WHERE h.assignee IS NOT NULL),"
            " counted AS ("
            "  SELECT h.assignee, NULL::boolean AS is_open, NULL::timestamptz AS due_end,"
            "   NULL::timestamptz AS ended_at"
            # LIMIT 1: one probe per person (an EXISTS becomes a join of the whole history).
            "  FROM holders h, LATERAL (SELECT 1 FROM tasks t JOIN cases c ON c.case_id = t.case_id"
            "   WHERE t.assignee = h.assignee AND t.role <> 'information'"
            "   AND t.assigned_at < :as_of LIMIT 1) AS held"
            "  WHERE h.assignee IS NOT NULL"
            "  UNION ALL"
            f"  SELECT t.assignee, {is_open},"
            f"   CASE WHEN {is_open} THEN {task_due} END, t.ended_at"
            "  FROM tasks t JOIN cases c ON c.case_id = t.case_id"
            "  WHERE t.role <> 'information' AND t.assigned_at < :as_of"
            "  AND (t.ended_at IS NULL OR t.ended_at >= :start))"
            f" SELECT {group} AS key, min(u.unit_id) AS unit_id,"
            " count(*) FILTER (WHERE is_open) AS open,"
            " count(*) FILTER (WHERE is_open AND due_end <= :as_of) AS overdue,"
            " count(*) FILTER (WHERE t.ended_at >= :start AND t.ended_at < :as_of) AS done"
            " FROM counted t LEFT JOIN users u ON u.user_id = t.assignee"
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
    capped: bool = False
    """More rows match than were counted: ``total`` is then a lower bound."""


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
        # Implied by the period (a register's year is its arrival's office-local year, intake's
        # rule), and it lets the walk in register order start at the period's first year.
        d.c.year >= period.first.year,
        d.c.year <= period.last.year,
        *([d.c.register_id == register_id] if register_id else []),
    )
    order = (d.c.year, d.c.register_id, d.c.arrival_number, d.c.incoming_document_id)
    total = await session.scalar(select(func.count()).select_from(d).where(where)) or 0
    if limit is None:
        stmt = select(d).where(where).order_by(*order).offset(offset)
    else:
        # The page's keys first, skipping ``offset`` rows in an index-only scan of
        # ix_incoming_register_page; then only the page's rows are read.
        keys = (
            select(d.c.incoming_document_id)
            .where(where)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
            .subquery("page")
        )
        stmt = (
            select(d)
            .join(keys, keys.c.incoming_document_id == d.c.incoming_document_id)
            .order_by(*order)
        )
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
        # Implied by the period (an outgoing number's year is its issue date's year, issuance's
        # rule; void numbers have only the year): the register walk starts at the right year.
        o.c.year >= period.first.year,
        o.c.year <= period.last.year,
        or_(
            and_(o.c.issued_date >= period.first, o.c.issued_date <= period.last),
            o.c.issued_date.is_(None),
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
    total_limit: int = 1_000
    """Hits counted at most: beyond it the total is given as this limit, marked capped."""


def _incoming_status() -> Any:
    d = orm.incoming_documents
    return case((d.c.processed_at.is_not(None), "processed"), else_="in_progress")


def _ts_match(vector: Any, tsquery: str) -> Any:
    """Full-text match on the stored vector of the normalized text (its GIN index)."""
    config: Any = literal_column("'simple'::regconfig")
    return vector.op("@@")(func.to_tsquery(config, tsquery))


def _contains(column: Any, needle: str) -> Any:
    return func.lower(column).contains(needle.lower(), autoescape=True)


PROBE_ROWS = 5_000
"""Newest documents a word search reads first, in order: a page of hits found among them is the
page (frequent words); only when it is not does the GIN index find the hits (rare words)."""


@dataclass(frozen=True)
class _Branch:
    """One kind of document in a search: its columns, its order and its conditions."""

    kind: str
    table: Any
    key: Any
    date: Any
    vector: Any
    columns: list[Any]
    filters: list[Any]
    """Every condition but the words."""
    tsquery: str | None
    walkable: bool
    """The filters are all served by the order index (dates): reading newest first is bounded."""

    def conditions(self) -> list[Any]:
        words = [_ts_match(self.vector, self.tsquery)] if self.tsquery else []
        return [*self.filters, *words]

    def hits(self, wanted: int) -> list[Any]:
        """Selects whose union is this kind's first ``wanted`` hits, newest first.

        The planner cannot tell how many documents several words match together (it multiplies
        their frequencies): "phong chong thien tai" is in 2.5 % of them, estimated at 0.01 %, so
        it would fetch and sort all 25,000 hits. Reading the newest ``PROBE_ROWS`` documents
        first, in order, finds a page of a frequent phrase in a few ms; the GIN query runs only
        when they hold less than a page (a One-Time Filter on the probe's count)."""
        order = (self.date.desc().nulls_last(), self.key)
        plain = select(*self.columns).where(*self.conditions()).order_by(*order).limit(wanted)
        if self.tsquery is None or not self.walkable:
            return [plain]
        recent = (
            select(self.key.label("id"), self.vector.label("vector"), self.date.label("date"))
            .where(*self.filters)
            .order_by(*order)
            .limit(max(PROBE_ROWS, 25 * wanted))
            .subquery(f"recent_{self.kind}")
        )
        probe = (
            select(recent.c.id)
            .where(_ts_match(recent.c.vector, self.tsquery))
            .order_by(recent.c.date.desc().nulls_last(), recent.c.id)
            .limit(wanted)
            .cte(f"probe_{self.kind}")
        )
        found = select(func.count()).select_from(probe).scalar_subquery()
        from_probe = select(*self.columns).where(self.key.in_(select(probe.c.id)), found >= wanted)
        return [from_probe, plain.where(found < wanted)]


async def search(session: AsyncSession, query: SearchQuery) -> Page:
    """Newest first (date, then kind and id). Each kind gives its own first ``offset + limit``
    hits, read in that order from an index (ix_incoming_search_order, ix_outgoing_search_order)
    or, for rare words, from the GIN index; the page is cut from their union. The total is exact
    up to ``query.total_limit`` (a common word matches half a million documents)."""
    tsquery = prefix_tsquery(query.q) if query.q else None
    d, o = orm.incoming_documents, orm.outgoing_documents
    walkable = not (query.status or query.code or query.organ or query.type_name)
    branches: list[_Branch] = []
    if query.kind in (None, "incoming"):
        status = _incoming_status()
        code = d.c.code_number + "/" + d.c.code_notation
        conds: list[Any] = [d.c.registered_at.is_not(None)]
        if query.date_from:
            conds.append(orm.incoming_date >= query.date_from)
        if query.date_to:
            conds.append(orm.incoming_date <= query.date_to)
        if query.status:
            conds.append(status == query.status)
        if query.code:
            conds.append(_contains(code, query.code))
        if query.organ:
            conds.append(_contains(d.c.organ_name, query.organ))
        if query.type_name:
            conds.append(func.lower(d.c.type_name) == query.type_name.lower())
        columns = [
            literal("incoming").label("kind"),
            d.c.incoming_document_id.label("id"),
            orm.incoming_date.label("date"),
            d.c.arrival_number.label("number"),
            code.label("code"),
            d.c.organ_name.label("organ_name"),
            d.c.type_name.label("type_name"),
            d.c.subject.label("subject"),
            status.label("status"),
        ]
        key, date_, vector = d.c.incoming_document_id, orm.incoming_date, d.c.search_vector
        branches.append(_Branch("in", d, key, date_, vector, columns, conds, tsquery, walkable))
    if query.kind in (None, "outgoing"):
        # A literal, so that the partial indexes' predicate is provable.
        conds = [o.c.state != literal_column("'voided'")]
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
        columns = [
            literal("outgoing").label("kind"),
            o.c.outgoing_document_id.label("id"),
            o.c.issued_date.label("date"),
            o.c.code_number.label("number"),
            o.c.code.label("code"),
            literal(None, String).label("organ_name"),
            o.c.type_name.label("type_name"),
            o.c.subject.label("subject"),
            o.c.state.label("status"),
        ]
        key, date_, vector = o.c.outgoing_document_id, o.c.issued_date, o.c.search_vector
        branches.append(_Branch("out", o, key, date_, vector, columns, conds, tsquery, walkable))
    limit = query.total_limit
    counted = [
        select(literal(1).label("hit")).select_from(b.table).where(*b.conditions()).limit(limit + 1)
        for b in branches
    ]
    found = await session.scalar(select(func.count()).select_from(_union(counted))) or 0
    page = _union([hits for b in branches for hits in b.hits(query.offset + query.limit)])
    rows = await session.execute(
        select(page)
        .order_by(page.c.date.desc().nulls_last(), page.c.kind, page.c.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    return Page(list(rows.all()), min(found, limit), capped=found > limit)


def _union(selects: list[Any]) -> Any:
    combined: Any = union_all(*selects) if len(selects) > 1 else selects[0]
    return combined.subquery()
