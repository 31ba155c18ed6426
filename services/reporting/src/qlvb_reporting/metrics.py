"""Business metrics of the reporting service (prefix ``qlvb_reporting_``), for Grafana.

Counters and histograms move as events are projected; the gauges (open documents by state,
overdue by unit) are recomputed from the read models every ``metrics_refresh_s`` seconds, so
every copy of the service reports the same values whatever messages it consumed itself.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text

from qlvb_chassis.db import Database

log = logging.getLogger("qlvb.reporting.metrics")

_HOUR = 3600.0
_DAY = 24 * _HOUR

REGISTERED = Counter(
    "qlvb_reporting_incoming_registered",
    "Incoming documents registered (vào sổ văn bản đến), by channel.",
    ["channel"],
)
RETURNED = Counter(
    "qlvb_reporting_incoming_returned", "Incoming documents returned with a return slip."
)
ISSUED = Counter("qlvb_reporting_outgoing_issued", "Outgoing documents issued (phát hành).")
TIME_TO_REGISTER = Histogram(
    "qlvb_reporting_time_to_register_seconds",
    "From arrival to registration and forwarding (seed Đ6: within 4 working hours).",
    buckets=(
        15 * 60.0,
        _HOUR,
        2 * _HOUR,
        4 * _HOUR,
        8 * _HOUR,
        _DAY,
        2 * _DAY,
        5 * _DAY,
    ),
)
TIME_TO_PROCESS = Histogram(
    "qlvb_reporting_time_to_process_seconds",
    "From arrival to processed (reply issued, processing slip or case closed).",
    buckets=(
        _HOUR,
        8 * _HOUR,
        _DAY,
        2 * _DAY,
        5 * _DAY,
        10 * _DAY,
        20 * _DAY,
        30 * _DAY,
        60 * _DAY,
    ),
)
INCOMING_OPEN = Gauge(
    "qlvb_reporting_incoming_open",
    "Incoming documents not yet processed, by state (received = waiting in the electronic inbox, "
    "in_progress = registered and being handled, waiting = a handler waits on something).",
    ["state"],
)
INCOMING_OVERDUE = Gauge(
    "qlvb_reporting_incoming_overdue",
    "Registered incoming documents past their due date, by the unit of their lead handler.",
    ["unit"],
)
OUTGOING_STATE = Gauge(
    "qlvb_reporting_outgoing_documents", "Outgoing documents by state.", ["state"]
)
REFRESHED = Gauge(
    "qlvb_reporting_gauges_refreshed_timestamp_seconds",
    "When the gauges were last recomputed from the read models.",
)

_OPEN_SQL = text(
    "SELECT"
    " count(*) FILTER (WHERE registered_at IS NULL AND received_at IS NOT NULL"
    "   AND returned_at IS NULL AND rejected_at IS NULL) AS received,"
    " count(*) FILTER (WHERE registered_at IS NOT NULL AND processed_at IS NULL) AS in_progress,"
    " count(*) FILTER (WHERE registered_at IS NOT NULL AND processed_at IS NULL AND EXISTS ("
    "   SELECT 1 FROM tasks t JOIN cases c ON c.case_id = t.case_id"
    "   WHERE c.incoming_document_id = d.incoming_document_id AND t.ended_at IS NULL"
    "   AND t.waiting_reason IS NOT NULL)) AS waiting"
    " FROM incoming_documents d WHERE processed_at IS NULL"
)
_OVERDUE_SQL = text(
    "SELECT coalesce(("
    "  SELECT u.unit_id FROM tasks t JOIN cases c ON c.case_id = t.case_id"
    "  JOIN users u ON u.user_id = t.assignee"
    "  WHERE c.incoming_document_id = d.incoming_document_id AND t.ended_at IS NULL"
    "  ORDER BY t.role, t.assigned_at LIMIT 1), '') AS unit, count(*) AS n"
    " FROM incoming_documents d"
    " WHERE d.registered_at IS NOT NULL AND d.processed_at IS NULL"
    " AND ((coalesce(d.case_due_date, d.doc_due_date) + 1)::timestamp"
    "      AT TIME ZONE 'Asia/Ho_Chi_Minh') <= :now"
    " GROUP BY 1"
)
_OUTGOING_SQL = text("SELECT state, count(*) AS n FROM outgoing_documents GROUP BY state")


async def refresh_gauges(db: Database, now: datetime | None = None) -> None:
    moment = now or datetime.now(UTC)
    async with db.engine.connect() as conn:
        opened = (await conn.execute(_OPEN_SQL)).one()
        overdue = (await conn.execute(_OVERDUE_SQL, {"now": moment})).all()
        outgoing = (await conn.execute(_OUTGOING_SQL)).all()
    for state in ("received", "in_progress", "waiting"):
        INCOMING_OPEN.labels(state).set(getattr(opened, state))
    INCOMING_OVERDUE.clear()
    for row in overdue:
        INCOMING_OVERDUE.labels(row.unit or "unknown").set(row.n)
    OUTGOING_STATE.clear()
    for row in outgoing:
        OUTGOING_STATE.labels(row.state).set(row.n)
    REFRESHED.set(moment.timestamp())


async def refresh_forever(db: Database, interval_s: float) -> None:
    """Recompute the gauges periodically; a database outage only delays the next refresh."""
    while True:
        try:
            await refresh_gauges(db)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("cannot refresh the business gauges: %s", exc)
        await asyncio.sleep(interval_s)
