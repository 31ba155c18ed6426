"""Working-time calendar: SLA arithmetic on office hours, weekends, holidays and làm bù days."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError

from qlvb_chassis.calendar import (
    OFFICE_TZ,
    CalendarData,
    OfficeSession,
    WorkingCalendar,
    office_instant,
    to_office_time,
    vietnam_default_holidays,
)

# March 2025: Friday 7th, Saturday 8th, Sunday 9th, Monday 10th (configured as a holiday here).
FRIDAY = date(2025, 3, 7)
SATURDAY = date(2025, 3, 8)
SUNDAY = date(2025, 3, 9)
MONDAY = date(2025, 3, 10)
TUESDAY = date(2025, 3, 11)
WEDNESDAY = date(2025, 3, 5)
THURSDAY = date(2025, 3, 6)

PLAIN = WorkingCalendar()
MONDAY_OFF = WorkingCalendar(CalendarData(holidays=frozenset({MONDAY})))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=OFFICE_TZ)


def test_four_hour_sla_from_friday_afternoon_skips_weekend_and_monday_holiday() -> None:
    due = MONDAY_OFF.add_working_hours(local(FRIDAY, 16), 4)

    # 1 h on Friday 16:00-17:00, then 3 h from Tuesday 07:30 → 10:30 office time (03:30 UTC).
    assert due == datetime(2025, 3, 11, 3, 30, tzinfo=UTC)
    assert to_office_time(due) == local(TUESDAY, 10, 30)
    assert due.tzinfo is UTC


def test_result_is_the_same_whatever_zone_the_input_uses() -> None:
    in_utc = local(FRIDAY, 16).astimezone(UTC)
    in_paris = local(FRIDAY, 16).astimezone(timezone(timedelta(hours=1)))

    assert MONDAY_OFF.add_working_hours(in_utc, 4) == MONDAY_OFF.add_working_hours(in_paris, 4)


def test_received_after_hours_starts_counting_next_morning() -> None:
    # Exactly filling the morning session ends at 11:30, not at 13:00 after lunch.
    assert PLAIN.add_working_hours(local(WEDNESDAY, 18, 30), 4) == office_instant(
        THURSDAY, time(11, 30)
    )
    assert PLAIN.add_working_hours(local(WEDNESDAY, 6), 1) == office_instant(WEDNESDAY, time(8, 30))


def test_received_at_lunch_starts_counting_at_afternoon_session() -> None:
    assert PLAIN.add_working_hours(local(WEDNESDAY, 12), 2) == office_instant(WEDNESDAY, time(15))
    # Started before lunch: the lunch break does not count.
    assert PLAIN.add_working_hours(local(WEDNESDAY, 11), 1) == office_instant(
        WEDNESDAY, time(13, 30)
    )


def test_received_on_weekend_starts_counting_on_next_working_day() -> None:
    assert PLAIN.add_working_hours(local(SATURDAY, 9), 4) == office_instant(MONDAY, time(11, 30))
    assert MONDAY_OFF.add_working_hours(local(SUNDAY, 22), 4) == office_instant(
        TUESDAY, time(11, 30)
    )


def test_compensatory_saturday_is_a_working_day() -> None:
    calendar = WorkingCalendar(CalendarData(extra_working_days=frozenset({SATURDAY})))

    assert calendar.is_working_day(SATURDAY)
    assert not calendar.is_working_day(SUNDAY)
    assert calendar.is_working_time(local(SATURDAY, 9))
    assert calendar.add_working_hours(local(FRIDAY, 16), 4) == office_instant(
        SATURDAY, time(10, 30)
    )


def test_timedelta_and_fractional_hours() -> None:
    start = local(WEDNESDAY, 9)

    assert PLAIN.add_working_hours(start, timedelta(minutes=90)) == office_instant(
        WEDNESDAY, time(10, 30)
    )
    assert PLAIN.add_working_hours(start, 2.25) == office_instant(WEDNESDAY, time(11, 15))
    assert PLAIN.add_working_hours(start, 0) == start.astimezone(UTC)


def test_sessions_are_configurable() -> None:
    calendar = WorkingCalendar(
        CalendarData(
            sessions=(
                OfficeSession(start=time(13, 30), end=time(17, 30)),
                OfficeSession(start=time(8), end=time(12)),
            )
        )
    )

    assert calendar.working_time_per_day == timedelta(hours=8)
    assert calendar.add_working_hours(local(WEDNESDAY, 11), 2) == office_instant(
        WEDNESDAY, time(14, 30)
    )
    assert not calendar.is_working_time(local(WEDNESDAY, 7, 45))


def test_is_working_time_and_next_working_instant() -> None:
    assert PLAIN.is_working_time(local(WEDNESDAY, 7, 30))
    assert not PLAIN.is_working_time(local(WEDNESDAY, 11, 30))
    assert not PLAIN.is_working_time(local(WEDNESDAY, 17))
    assert not PLAIN.is_working_time(local(SATURDAY, 9))

    inside = local(WEDNESDAY, 9, 15)
    assert PLAIN.next_working_instant(inside) == inside.astimezone(UTC)
    assert PLAIN.next_working_instant(local(WEDNESDAY, 12)) == office_instant(WEDNESDAY, time(13))
    assert MONDAY_OFF.next_working_instant(local(FRIDAY, 17)) == office_instant(
        TUESDAY, time(7, 30)
    )


def test_working_time_between_across_weekend_and_holiday() -> None:
    a, b = local(FRIDAY, 16), local(TUESDAY, 9)

    # Friday 16:00-17:00 (1 h) + Tuesday 07:30-09:00 (1.5 h); Saturday, Sunday, Monday count 0.
    assert MONDAY_OFF.working_time_between(a, b) == timedelta(hours=2, minutes=30)
    assert PLAIN.working_time_between(a, b) == timedelta(hours=10, minutes=30)
    assert MONDAY_OFF.working_time_between(b, a) == -timedelta(hours=2, minutes=30)
    assert MONDAY_OFF.working_time_between(a, a) == timedelta(0)
    assert PLAIN.working_time_between(local(SATURDAY, 8), local(SUNDAY, 16)) == timedelta(0)


def test_add_working_days_keeps_time_of_day_and_rolls_into_office_hours() -> None:
    assert MONDAY_OFF.add_working_days(local(FRIDAY, 16), 1) == office_instant(TUESDAY, time(16))
    # Received Saturday: counts as received Monday 07:30.
    assert PLAIN.add_working_days(local(SATURDAY, 10), 1) == office_instant(TUESDAY, time(7, 30))
    # The end of a session keeps its time of day.
    assert PLAIN.add_working_days(local(FRIDAY, 17), 1) == office_instant(MONDAY, time(17))
    assert PLAIN.add_working_days(local(WEDNESDAY, 12), 0) == office_instant(WEDNESDAY, time(13))
    with pytest.raises(ValueError, match="negative"):
        PLAIN.add_working_days(local(WEDNESDAY, 9), -1)


def test_working_days_between_counts_working_day_changes() -> None:
    due = local(FRIDAY, 17)

    assert MONDAY_OFF.working_days_between(due, local(TUESDAY, 8)) == 1
    assert PLAIN.working_days_between(due, local(TUESDAY, 8)) == 2
    assert PLAIN.working_days_between(local(TUESDAY, 8), due) == -2
    assert PLAIN.working_days_between(due, local(FRIDAY, 23)) == 0


def test_negative_or_non_finite_hours_refused() -> None:
    start = local(WEDNESDAY, 9)
    with pytest.raises(ValueError, match="negative"):
        PLAIN.add_working_hours(start, -1)
    with pytest.raises(ValueError, match="finite"):
        PLAIN.add_working_hours(start, float("nan"))


def test_naive_datetimes_refused() -> None:
    naive = datetime(2025, 3, 7, 16, 0)
    aware = local(FRIDAY, 16)

    calls: list[Callable[[], object]] = [
        lambda: PLAIN.add_working_hours(naive, 1),
        lambda: PLAIN.add_working_days(naive, 1),
        lambda: PLAIN.working_time_between(naive, aware),
        lambda: PLAIN.working_time_between(aware, naive),
        lambda: PLAIN.working_days_between(naive, aware),
        lambda: PLAIN.is_working_time(naive),
        lambda: PLAIN.next_working_instant(naive),
        lambda: to_office_time(naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


def test_calendar_data_validation() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        CalendarData(
            sessions=(
                OfficeSession(start=time(8), end=time(12)),
                OfficeSession(start=time(11), end=time(17)),
            )
        )
    with pytest.raises(ValidationError, match="before its end"):
        OfficeSession(start=time(17), end=time(8))
    with pytest.raises(ValidationError, match="both holiday and extra"):
        CalendarData(holidays=frozenset({SATURDAY}), extra_working_days=frozenset({SATURDAY}))
    with pytest.raises(ValidationError, match="working day"):
        CalendarData(weekend_days=frozenset(range(7)))
    with pytest.raises(ValidationError):
        CalendarData(weekend_days=frozenset({7}))
    with pytest.raises(ValidationError, match="at least one"):
        CalendarData(sessions=())


def test_calendar_data_round_trips_as_json() -> None:
    data = CalendarData(
        holidays=frozenset({MONDAY}),
        extra_working_days=frozenset({SATURDAY}),
    )

    restored = CalendarData.model_validate_json(data.model_dump_json())

    assert restored == data
    as_admin_would_write = CalendarData.model_validate(
        {"sessions": [{"start": "08:00", "end": "16:00"}], "holidays": ["2025-03-10"]}
    )
    assert WorkingCalendar(as_admin_would_write).working_time_per_day == timedelta(hours=8)


def test_vietnam_fixed_date_holidays() -> None:
    # 2023: 2/9 was a Saturday and 1/9 the adjacent day → substitute Monday 4/9.
    assert vietnam_default_holidays(2023) == {
        date(2023, 1, 1),
        date(2023, 1, 2),  # 1/1 was a Sunday
        date(2023, 4, 30),
        date(2023, 5, 1),
        date(2023, 5, 2),  # 30/4 was a Sunday
        date(2023, 9, 1),
        date(2023, 9, 2),
        date(2023, 9, 4),
    }
    # 2022: 1/1 Saturday → 3/1; 30/4 Saturday and 1/5 Sunday → 2/5 and 3/5.
    holidays_2022 = vietnam_default_holidays(2022)
    assert {date(2022, 1, 3), date(2022, 5, 2), date(2022, 5, 3)} <= holidays_2022
    assert vietnam_default_holidays(2024, national_day_adjacent="after") == {
        date(2024, 1, 1),
        date(2024, 4, 30),
        date(2024, 5, 1),
        date(2024, 9, 2),
        date(2024, 9, 3),
    }
    assert date(2023, 9, 4) not in vietnam_default_holidays(2023, substitute_days=False)


# --- property-style checks over many random instants (fixed seed, so failures reproduce) -----

RANDOM_CALENDAR = WorkingCalendar(
    CalendarData(
        holidays=vietnam_default_holidays(2025)
        | {date(2025, 1, 27) + timedelta(days=i) for i in range(7)},  # Tết 2025 as admin data
        extra_working_days=frozenset({date(2025, 2, 8)}),
    )
)
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)


def random_instant(rng: random.Random) -> datetime:
    return YEAR_START + timedelta(seconds=rng.randrange(365 * 24 * 3600))


def test_add_then_between_round_trips() -> None:
    rng = random.Random(20250307)
    cal = RANDOM_CALENDAR
    for _ in range(2000):
        start = random_instant(rng)
        amount = timedelta(minutes=rng.randrange(0, 60 * 80))

        due = cal.add_working_hours(start, amount)

        assert due >= start
        assert cal.working_time_between(start, due) == amount
        assert cal.working_time_between(due, start) == -amount
        if amount:
            # Earliest such instant: the last microsecond before it was working time.
            assert cal.is_working_time(due - timedelta(microseconds=1))


def test_between_is_additive() -> None:
    rng = random.Random(7)
    cal = RANDOM_CALENDAR
    for _ in range(1000):
        a, b, c = sorted(random_instant(rng) for _ in range(3))
        whole = cal.working_time_between(a, c)
        assert whole == cal.working_time_between(a, b) + cal.working_time_between(b, c)
        assert timedelta(0) <= whole <= c - a


def test_add_working_days_matches_between() -> None:
    rng = random.Random(42)
    cal = RANDOM_CALENDAR
    for _ in range(1000):
        start = cal.next_working_instant(random_instant(rng))
        n = rng.randrange(0, 30)

        due = cal.add_working_days(start, n)

        assert cal.working_time_between(start, due) == n * cal.working_time_per_day
        assert cal.working_days_between(start, due) == n
        assert to_office_time(due).time() == to_office_time(start).time()


def test_next_working_instant_properties() -> None:
    rng = random.Random(99)
    cal = RANDOM_CALENDAR
    for _ in range(1000):
        instant = random_instant(rng)
        nxt = cal.next_working_instant(instant)
        assert nxt >= instant
        assert cal.is_working_time(nxt)
        assert cal.working_time_between(instant, nxt) == timedelta(0)
        assert cal.is_working_time(instant) == (nxt == instant)
