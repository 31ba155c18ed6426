"""Working-time calendar (lịch làm việc) for deadlines and SLAs in the office's own time.

Business time is Asia/Ho_Chi_Minh on office hours (ARCHITECTURE §3.6). The rules are data, kept
by the records admin and loaded into a :class:`CalendarData`:

- ``sessions``: office hours of every working day, by default 07:30–11:30 and 13:00–17:00;
- ``weekend_days``: weekdays off, as ``date.weekday()`` numbers (Monday = 0 … Sunday = 6);
- ``holidays``: public holidays and the days off the government moves around them (nghỉ bù);
- ``extra_working_days``: compensatory working days (ngày làm bù), e.g. a Saturday worked to
  bridge a holiday; they are working days even when their weekday is in ``weekend_days``.

Conventions, the same for every method of :class:`WorkingCalendar`:

- Inputs must be timezone-aware datetimes (any zone); naive ones raise ``ValueError`` because
  guessing their zone is how deadlines end up seven hours off.
- Results are in UTC, the storage zone (§3.6). :func:`to_office_time` converts an instant for
  display; :func:`office_instant` builds one from an office-local date and time.
- A session is half-open, ``[start, end)``: 17:00 itself is not working time, but a deadline that
  uses up the last working minute of the day falls exactly on 17:00 of that day.

Only fixed-date holidays can be derived (:func:`vietnam_default_holidays`). Tết Nguyên đán and
Giỗ Tổ Hùng Vương follow the lunar calendar, and the government announces the exact days off (and
any swapped working Saturdays) each year, so the records admin enters them as data every year;
this module deliberately contains no lunar conversion.

Everything here is pure computation: no I/O, no clock reads.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEFAULT_SESSIONS",
    "DEFAULT_WEEKEND_DAYS",
    "OFFICE_TZ",
    "CalendarData",
    "OfficeSession",
    "WorkingCalendar",
    "office_instant",
    "to_office_time",
    "vietnam_default_holidays",
]


def _office_zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:
        # Slim images may lack the tz database. Vietnam has kept UTC+7 without DST since 1975,
        # so the fixed offset gives the same answers for every date this system handles.
        return timezone(timedelta(hours=7), "ICT")


OFFICE_TZ: tzinfo = _office_zone()
"""The office's time zone, Asia/Ho_Chi_Minh."""


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def to_office_time(instant: datetime) -> datetime:
    """The same instant on the office's wall clock (Asia/Ho_Chi_Minh), for display and reports."""
    return _utc(instant, "instant").astimezone(OFFICE_TZ)


def office_instant(day: date, at: time) -> datetime:
    """The UTC instant of office-local ``day`` at wall-clock time ``at`` (which must be naive)."""
    if at.tzinfo is not None:
        raise ValueError("at must be an office wall-clock time without tzinfo")
    return datetime.combine(day, at, tzinfo=OFFICE_TZ).astimezone(UTC)


class OfficeSession(BaseModel):
    """One block of office hours in a working day, ``[start, end)`` on the office's wall clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    @model_validator(mode="after")
    def _check(self) -> OfficeSession:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("session times are office wall-clock times; give them without zone")
        if self.start >= self.end:
            raise ValueError(f"session start {self.start} must be before its end {self.end}")
        return self


DEFAULT_SESSIONS: tuple[OfficeSession, ...] = (
    OfficeSession(start=time(7, 30), end=time(11, 30)),
    OfficeSession(start=time(13, 0), end=time(17, 0)),
)
"""Typical hours of a Vietnamese state office: 07:30–11:30 and 13:00–17:00."""

DEFAULT_WEEKEND_DAYS: frozenset[int] = frozenset({5, 6})
"""Saturday and Sunday, as ``date.weekday()`` numbers."""

Weekday = Annotated[int, Field(ge=0, le=6)]


class CalendarData(BaseModel):
    """The admin-editable rules of the working-time calendar (serialises to plain JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sessions: tuple[OfficeSession, ...] = DEFAULT_SESSIONS
    weekend_days: frozenset[Weekday] = DEFAULT_WEEKEND_DAYS
    holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    @field_validator("sessions")
    @classmethod
    def _sessions_ordered(cls, sessions: tuple[OfficeSession, ...]) -> tuple[OfficeSession, ...]:
        if not sessions:
            raise ValueError("at least one office session is required")
        ordered = tuple(sorted(sessions, key=lambda s: s.start))
        for earlier, later in pairwise(ordered):
            if later.start < earlier.end:
                raise ValueError(
                    f"sessions overlap: {earlier.start}-{earlier.end} and {later.start}"
                )
        return ordered

    @model_validator(mode="after")
    def _consistent(self) -> CalendarData:
        if len(self.weekend_days) >= 7:
            raise ValueError("at least one weekday must be a working day")
        both = self.holidays & self.extra_working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates both holiday and extra working day: {listed}")
        return self


class WorkingCalendar:
    """Working-time arithmetic over a :class:`CalendarData`; results are UTC datetimes."""

    def __init__(self, data: CalendarData | None = None) -> None:
        self._data = data if data is not None else CalendarData()
        self._sessions = tuple((s.start, s.end) for s in self._data.sessions)
        self._weekend = self._data.weekend_days
        self._holidays = self._data.holidays
        self._extra = self._data.extra_working_days
        # Same length every working day, as long as the office keeps a fixed UTC offset.
        day = date(2000, 1, 3)
        self._day_length = sum(
            (
                office_instant(day, end) - office_instant(day, start)
                for start, end in self._sessions
            ),
            timedelta(0),
        )

    @property
    def data(self) -> CalendarData:
        return self._data

    @property
    def working_time_per_day(self) -> timedelta:
        """Total office hours of one working day (8 h with the default sessions)."""
        return self._day_length

    def is_working_day(self, day: date) -> bool:
        """Whether the office-local ``day`` is worked (extra working days beat weekends)."""
        if day in self._extra:
            return True
        return day.weekday() not in self._weekend and day not in self._holidays

    def is_working_time(self, instant: datetime) -> bool:
        """Whether ``instant`` falls inside an office session of a working day."""
        local = to_office_time(instant)
        if not self.is_working_day(local.date()):
            return False
        clock = local.time()
        return any(start <= clock < end for start, end in self._sessions)

    def next_working_instant(self, instant: datetime) -> datetime:
        """``instant`` itself if it is working time, otherwise the start of the next session."""
        moment = _utc(instant, "instant")
        day = to_office_time(moment).date()
        while True:
            if self.is_working_day(day):
                for start, end in self._session_instants(day):
                    if moment < end:
                        return max(start, moment)
            day += timedelta(days=1)

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> datetime:
        """The earliest instant by which ``hours`` of working time have passed since ``start``.

        Time outside office hours does not count, so a start at lunch or on a weekend effectively
        begins at the next session. The result can be a session end (e.g. 17:00) when the amount
        uses up a session exactly. ``hours`` must not be negative; zero returns ``start``.
        """
        moment = _utc(start, "start")
        remaining = _as_duration(hours)
        if remaining == timedelta(0):
            return moment
        day = to_office_time(moment).date()
        while True:
            if self.is_working_day(day):
                if moment <= self._day_start(day) and remaining > self._day_length:
                    # A whole working day fits: skip its sessions without building instants.
                    remaining -= self._day_length
                else:
                    for session_start, session_end in self._session_instants(day):
                        if session_end <= moment:
                            continue
                        begin = max(session_start, moment)
                        available = session_end - begin
                        if remaining <= available:
                            return begin + remaining
                        remaining -= available
            day += timedelta(days=1)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The same office-local time of day on the ``n``-th working day after ``start``'s day.

        A start outside office hours first rolls forward to the next session start (a document
        received at 18:00 on Friday counts as received at 07:30 on Monday); a start inside a
        session or exactly at its end keeps its time of day. ``n`` = 0 returns the rolled start.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        local = to_office_time(start)
        if not self._in_closed_session(local):
            local = to_office_time(self.next_working_instant(local))
        day, clock = local.date(), local.time()
        for _ in range(n):
            day = self._next_working_day(day)
        return office_instant(day, clock)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b``; antisymmetric, so it is negative when ``b`` < ``a``.

        With ``a`` = now and ``b`` = a due date, a negative result is how long the item is
        overdue in working time.
        """
        lo, hi = _utc(a, "a"), _utc(b, "b")
        if hi < lo:
            return -self.working_time_between(hi, lo)
        first, last = to_office_time(lo).date(), to_office_time(hi).date()
        total = timedelta(0)
        day = first
        while day <= last:
            if self.is_working_day(day):
                if first < day < last:
                    total += self._day_length
                else:
                    for session_start, session_end in self._session_instants(day):
                        overlap = min(session_end, hi) - max(session_start, lo)
                        if overlap > timedelta(0):
                            total += overlap
            day += timedelta(days=1)
        return total

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """Working days after ``a``'s office-local date up to and including ``b``'s.

        Counts day changes, not elapsed hours: due Monday and now Wednesday is 2 working days
        late whatever the clock says. Antisymmetric like :meth:`working_time_between`.
        """
        lo, hi = _utc(a, "a"), _utc(b, "b")
        if hi < lo:
            return -self.working_days_between(hi, lo)
        day, last = to_office_time(lo).date(), to_office_time(hi).date()
        count = 0
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def _session_instants(self, day: date) -> list[tuple[datetime, datetime]]:
        return [(office_instant(day, s), office_instant(day, e)) for s, e in self._sessions]

    def _day_start(self, day: date) -> datetime:
        return office_instant(day, self._sessions[0][0])

    def _in_closed_session(self, local: datetime) -> bool:
        if not self.is_working_day(local.date()):
            return False
        clock = local.time()
        return any(start <= clock <= end for start, end in self._sessions)

    def _next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def _as_duration(hours: float | timedelta) -> timedelta:
    if isinstance(hours, timedelta):
        amount = hours
    else:
        if not math.isfinite(hours):
            raise ValueError(f"hours must be finite, got {hours}")
        amount = timedelta(hours=hours)
    if amount < timedelta(0):
        raise ValueError(f"working time to add must not be negative, got {amount}")
    return amount


def vietnam_default_holidays(
    year: int,
    *,
    national_day_adjacent: Literal["before", "after"] = "before",
    weekend_days: Iterable[int] = DEFAULT_WEEKEND_DAYS,
    substitute_days: bool = True,
) -> frozenset[date]:
    """Fixed-date public holidays of ``year`` under the Labour Code 2019 (Art. 112).

    1/1, 30/4, 1/5, 2/9 and one day next to 2/9; the government picks 1/9 or 3/9 each year
    (1/9 in 2022, 2023, 2025; 3/9 in 2021, 2024), so pass ``national_day_adjacent``. With
    ``substitute_days`` a holiday that falls on a weekend day adds the next working weekday
    (nghỉ bù, Art. 111(3)), e.g. 2/9/2023 (Saturday) → Monday 4/9/2023.

    Tết and Giỗ Tổ Hùng Vương (lunar dates), their substitute days, and any day-swaps the
    government announces are NOT included: the records admin enters them as data each year.
    """
    weekend = frozenset(weekend_days)
    national_day = date(year, 9, 2)
    adjacent = national_day + timedelta(days=-1 if national_day_adjacent == "before" else 1)
    fixed = sorted({date(year, 1, 1), date(year, 4, 30), date(year, 5, 1), national_day, adjacent})
    result = set(fixed)
    if substitute_days:
        for holiday in fixed:
            if holiday.weekday() in weekend:
                substitute = holiday + timedelta(days=1)
                while substitute.weekday() in weekend or substitute in result:
                    substitute += timedelta(days=1)
                result.add(substitute)
    return frozenset(result)


def load_calendar(path: Path | None, *, today: date | None = None) -> WorkingCalendar:
    """The office calendar: ``path`` is a JSON :class:`CalendarData` kept by the records admin
    (with Tết and Giỗ Tổ entered each year). Without one, the fixed-date holidays of last year,
    this year and next year are used, and a warning says that lunar holidays are missing."""
    if path is not None:
        return WorkingCalendar(CalendarData.model_validate_json(Path(path).read_text("utf-8")))
    year = (today or datetime.now(OFFICE_TZ).date()).year
    holidays: frozenset[date] = frozenset().union(
        *(vietnam_default_holidays(y) for y in (year - 1, year, year + 1))
    )
    logging.getLogger("qlvb.calendar").warning(
        "no calendar file configured: using fixed-date holidays only (no Tết, no Giỗ Tổ)"
    )
    return WorkingCalendar(CalendarData(holidays=holidays))
