"""Hạn xử lý: when a case or task is due, and whether it is overdue, in working time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from qlvb_chassis.calendar import WorkingCalendar, office_instant, to_office_time
from qlvb_contracts.reference import Urgency

DEFAULT_DUE_WORKING_DAYS: dict[int, int] = {
    Urgency.NORMAL: 10,
    Urgency.URGENT: 5,
    Urgency.VERY_URGENT: 3,
    Urgency.FLASH: 1,
    Urgency.FLASH_TIMED: 1,
}
"""Working days to handle a document that names no DueDate, by urgency (độ khẩn)."""


def end_of_office_day(calendar: WorkingCalendar, day: date) -> datetime:
    """A due *date* means the close of business that day (the last session's end)."""
    return office_instant(day, calendar.data.sessions[-1].end)


def due_at(
    calendar: WorkingCalendar,
    *,
    received_at: datetime,
    due_date: date | None,
    priority: Urgency,
    default_working_days: Mapping[int, int] = DEFAULT_DUE_WORKING_DAYS,
) -> datetime:
    """The document's own DueDate wins; otherwise the configured working days for its urgency,
    counted on the working calendar from when it arrived (UTC result)."""
    if due_date is not None:
        return end_of_office_day(calendar, due_date)
    days = default_working_days.get(int(priority), default_working_days.get(0, 10))
    return calendar.add_working_days(received_at, days)


def office_date(instant: datetime) -> date:
    """The office-local date of an instant (DueDate fields are dates in Vietnam)."""
    return to_office_time(instant).date()


def is_overdue(due: datetime | None, *, now: datetime, ended_at: datetime | None) -> bool:
    """Overdue when it is (or was, when it ended) past its due time. Waiting still counts (Đ12.3):
    a waiting task keeps its due time."""
    if due is None:
        return False
    moment = ended_at if ended_at is not None else now
    return moment > due
