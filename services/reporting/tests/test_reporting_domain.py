"""Domain rules of reporting: no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from qlvb_chassis.calendar import CalendarData, WorkingCalendar, office_instant
from qlvb_reporting.domain.periods import InvalidPeriod, Period, due_end
from qlvb_reporting.domain.reports import (
    OverdueDays,
    incoming_state,
    progress_text,
    working_days_overdue,
)
from qlvb_reporting.domain.text import normalize, prefix_tsquery, query_tokens, search_text

SEPTEMBER_HOLIDAYS = WorkingCalendar(
    CalendarData(holidays=frozenset({date(2025, 9, 1), date(2025, 9, 2)}))
)


def test_normalize_strips_diacritics_and_maps_d_bar() -> None:
    assert normalize("Quyết định") == "quyet dinh"
    assert normalize("ĐƯỜNG Lê Lợi") == "duong le loi"
    assert normalize("Ủy ban nhân dân") == "uy ban nhan dan"


def test_search_text_drops_punctuation_so_codes_match_word_by_word() -> None:
    assert search_text(["12/QĐ-UBND", None, "", "Sở Tài chính"]) == "12 qd ubnd so tai chinh"
    assert query_tokens("Quyết định số 12/QĐ") == ["quyet", "dinh", "so", "12", "qd"]


def test_prefix_tsquery_is_safe_and_prefix_matching() -> None:
    assert prefix_tsquery("quyet dinh") == "quyet:* & dinh:*"
    assert prefix_tsquery("a' | b & !c") == "a:* & b:* & c:*"
    assert prefix_tsquery("  --  ") is None


def test_month_period_is_office_local() -> None:
    september = Period.parse_month("2025-09")
    # 1 September 00:00 in Hanoi is still 31 August in UTC.
    assert september.start == datetime(2025, 8, 31, 17, 0, tzinfo=UTC)
    assert september.end == datetime(2025, 9, 30, 17, 0, tzinfo=UTC)
    assert september.label == "tháng 09/2025"
    december = Period.month(2025, 12)
    assert december.last == date(2025, 12, 31)
    assert september.as_of(datetime(2026, 1, 1, tzinfo=UTC)) == september.end
    now = datetime(2025, 9, 10, tzinfo=UTC)
    assert september.as_of(now) == now


@pytest.mark.parametrize("text", ["2025-13", "2025-9", "sept", "1999-01"])
def test_bad_months_are_refused(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        Period.parse_month(text)


def test_period_must_not_end_before_it_starts() -> None:
    with pytest.raises(InvalidPeriod):
        Period(date(2025, 9, 2), date(2025, 9, 1))


def test_due_date_lasts_its_whole_office_day() -> None:
    assert due_end(date(2025, 9, 4)) == office_instant(date(2025, 9, 5), time(0))


def test_working_days_overdue_skips_weekends_and_holidays() -> None:
    end_of_september = Period.parse_month("2025-09").end
    # Due Friday 29 August; 1 and 2 September are holidays: 3-5, 8-12, 15-19, 22-26, 29-30.
    assert working_days_overdue(SEPTEMBER_HOLIDAYS, date(2025, 8, 29), end_of_september) == 20
    assert working_days_overdue(WorkingCalendar(), date(2025, 8, 29), end_of_september) == 22
    # Due Friday, seen Monday morning: one working day late.
    monday = office_instant(date(2025, 9, 8), time(8))
    assert working_days_overdue(SEPTEMBER_HOLIDAYS, date(2025, 9, 5), monday) == 1
    # Not late during the due day itself.
    assert (
        working_days_overdue(
            SEPTEMBER_HOLIDAYS, date(2025, 9, 5), office_instant(date(2025, 9, 5), time(16))
        )
        == 0
    )


def test_state_and_progress_text() -> None:
    as_of = office_instant(date(2025, 9, 20), time(0))
    done = office_instant(date(2025, 9, 12), time(10))
    assert incoming_state(done, None, as_of) == "processed"
    assert incoming_state(None, None, as_of) == "in_progress"
    assert incoming_state(as_of, None, as_of) == "in_progress"
    assert (
        progress_text(SEPTEMBER_HOLIDAYS, processed_at=done, due=date(2025, 9, 10), as_of=as_of)
        == "Đã xử lý ngày 12/09/2025 (trễ hạn)"
    )
    assert (
        progress_text(SEPTEMBER_HOLIDAYS, processed_at=None, due=date(2025, 9, 17), as_of=as_of)
        == "Quá hạn 2 ngày làm việc"
    )
    assert progress_text(SEPTEMBER_HOLIDAYS, processed_at=None, due=None, as_of=as_of) == (
        "Đang xử lý"
    )


def test_overdue_days_walks_the_calendar_once_and_agrees_with_the_rule() -> None:
    calendar = WorkingCalendar(
        CalendarData(
            holidays=frozenset({date(2025, 9, 1), date(2025, 9, 2), date(2025, 4, 30)}),
            extra_working_days=frozenset({date(2025, 9, 6)}),
        )
    )
    for as_of in (
        office_instant(date(2025, 10, 1), time(0)),  # the end of September
        office_instant(date(2025, 9, 17), time(9, 30)),  # during a day
    ):
        days = OverdueDays(calendar, as_of)
        # Out of order, repeated, after the cut-off: every answer is the rule's.
        dues = [date(2025, 9, 10), date(2024, 11, 3), date(2025, 9, 16), date(2025, 9, 10)]
        dues += [date(2025, 9, 17), date(2025, 9, 30), date(2025, 10, 20), date(2025, 8, 29)]
        for due in dues:
            assert days(due) == working_days_overdue(calendar, due, as_of), (due, as_of)
