"""What the reports say, as plain values, and the rules that are not mere counting.

- Đ10 monthly control report (báo cáo thống kê hàng tháng): received in the month, processed,
  in progress, overdue; the overdue documents; people who did not pass documents on.
- Đ19 progress (tiến độ xử lý) per unit and per person.
- Phụ lục IV registers: sổ văn bản đến, sổ văn bản đi, sổ theo dõi giải quyết văn bản đến.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from qlvb_chassis.calendar import WorkingCalendar, office_instant, to_office_time
from qlvb_reporting.domain.periods import due_end


def working_days_overdue(calendar: WorkingCalendar, due: date, as_of: datetime) -> int:
    """Số ngày làm việc quá hạn: working days after the due date up to ``as_of``'s office day.

    Due Friday, seen on Tuesday → 2 (Monday, Tuesday); a holiday in between does not count.
    Zero while the due date's own day is not over.
    """
    if as_of < due_end(due):
        return 0
    # ``as_of`` is an exclusive bound: the end of September (1 October 00:00) counts up to the
    # 30th, not the 1st.
    last = as_of - timedelta(microseconds=1)
    return calendar.working_days_between(office_instant(due, time(12)), last)


class OverdueDays:
    """:func:`working_days_overdue` of many due dates at one cut-off, walking the calendar once.

    A monthly report at a large office lists thousands of overdue documents, some due two years
    ago: counting day by day for each cost a third of a second. Here each day from the
    cut-off back to the earliest due date asked for is looked at once.
    """

    def __init__(self, calendar: WorkingCalendar, as_of: datetime) -> None:
        self._calendar = calendar
        self._as_of = as_of
        self._last = to_office_time(as_of - timedelta(microseconds=1)).date()
        self._after: dict[date, int] = {self._last: 0}
        """Working days after a day, up to and including ``_last``."""
        self._earliest = self._last

    def __call__(self, due: date) -> int:
        if self._as_of < due_end(due):
            return 0
        # Past the check above, ``due`` is before ``_last``.
        while self._earliest > due:
            count = self._after[self._earliest]
            if self._calendar.is_working_day(self._earliest):
                count += 1
            self._earliest -= timedelta(days=1)
            self._after[self._earliest] = count
        return self._after[due]


class IncomingState:
    """Tình trạng of a registered incoming document at an instant."""

    IN_PROGRESS = "in_progress"
    """Đang xử lý."""
    PROCESSED = "processed"
    """Đã xử lý."""
    RETURNED = "returned"
    """Trả lại (phiếu trả)."""


INCOMING_STATE_LABELS = {
    IncomingState.IN_PROGRESS: "Đang xử lý",
    IncomingState.PROCESSED: "Đã xử lý",
    IncomingState.RETURNED: "Trả lại",
}


def incoming_state(
    processed_at: datetime | None, returned_at: datetime | None, as_of: datetime
) -> str:
    if processed_at is not None and processed_at < as_of:
        return IncomingState.PROCESSED
    if returned_at is not None and returned_at < as_of:
        return IncomingState.RETURNED
    return IncomingState.IN_PROGRESS


def progress_text(
    calendar: WorkingCalendar,
    *,
    processed_at: datetime | None,
    due: date | None,
    as_of: datetime,
) -> str:
    """Tiến độ giải quyết for the follow-up register, in Vietnamese."""
    if processed_at is not None and processed_at < as_of:
        text = f"Đã xử lý ngày {to_office_time(processed_at):%d/%m/%Y}"
        if due is not None and processed_at >= due_end(due):
            text += " (trễ hạn)"
        return text
    if due is not None:
        late = working_days_overdue(calendar, due, as_of)
        if late > 0:
            return f"Quá hạn {late} ngày làm việc"
    return "Đang xử lý"


@dataclass(frozen=True)
class PersonRef:
    user_id: str
    full_name: str
    unit_id: str | None = None


@dataclass(frozen=True)
class OverdueDocument:
    incoming_document_id: str
    arrival_number: int | None
    year: int | None
    arrival_date: datetime | None
    code: str
    organ_name: str | None
    subject: str | None
    due_date: date
    working_days_overdue: int
    handlers: list[PersonRef]


@dataclass
class LaggingPerson:
    """Cán bộ chưa chuyển văn bản trên mạng đúng quy định (Đ3.5, Đ6, Đ9, Đ10)."""

    user_id: str
    full_name: str
    unit_id: str | None
    held_past_due: int = 0
    """Tasks held after their due date during the month."""
    forced_forwards: int = 0
    """Tasks the records admin had to pass on for them (Đ9)."""
    late_registrations: int = 0
    """Documents registered and forwarded after the 4 working hours of Đ6 (clerks)."""
    documents: list[str] = field(default_factory=list)
    """Arrival numbers / codes of the documents concerned."""


@dataclass(frozen=True)
class MonthlyCounts:
    received: int
    """Tổng số văn bản đến trong tháng (registered, arrival date in the month)."""
    processed: int
    """Of those, processed by the cut-off."""
    in_progress: int
    """Of those, still being handled at the cut-off."""
    overdue: int
    """Of those, still being handled and past their due date at the cut-off."""
    processed_late: int
    """Of those, processed but after their due date."""
    registered_past_sla: int
    """Of those, registered later than the configured SLA (Đ6: 4 working hours)."""
    returned: int
    """Returned with a return slip during the month (not registered)."""
    processed_in_month: int
    """Any registered document processed during the month, whenever it arrived."""
    overdue_total: int
    """Every document overdue at the cut-off, whenever it arrived (= the overdue list)."""


@dataclass(frozen=True)
class MonthlyReport:
    period_label: str
    first: date
    last: date
    as_of: datetime
    counts: MonthlyCounts
    overdue_documents: list[OverdueDocument]
    lagging_people: list[LaggingPerson]
    missing_features: str | None = None


@dataclass(frozen=True)
class ProgressRow:
    """Đ19: tasks open, overdue and done this month, for one unit or one person."""

    key: str
    name: str
    unit_id: str | None
    open: int
    overdue: int
    done_this_month: int
