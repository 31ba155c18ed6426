"""Reporting periods in the office's time zone (Asia/Ho_Chi_Minh).

"This month" is a business notion: a document that arrives at 00:30 on 1 September office time
belongs to September although it is still 31 August in UTC (ARCHITECTURE §3.6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from qlvb_chassis.calendar import office_instant

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class InvalidPeriod(ValueError):
    """A period the user asked for does not exist or is the wrong way round."""


@dataclass(frozen=True)
class Period:
    """Office-local dates ``first``..``last`` inclusive, as the UTC half-open ``[start, end)``."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidPeriod(f"the period ends ({self.last}) before it starts ({self.first})")

    @property
    def start(self) -> datetime:
        return office_instant(self.first, time(0))

    @property
    def end(self) -> datetime:
        return office_instant(self.last + timedelta(days=1), time(0))

    def as_of(self, now: datetime) -> datetime:
        """The instant the period's figures are taken at: its end, or now if it is not over."""
        return min(self.end, now.astimezone(UTC))

    @property
    def label(self) -> str:
        whole_month = self.first.day == 1 and (self.last + timedelta(days=1)).day == 1
        if whole_month and self.first.month == self.last.month:
            return f"tháng {self.first.month:02d}/{self.first.year}"
        return f"{self.first:%d/%m/%Y} – {self.last:%d/%m/%Y}"

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12 or not 2000 <= year <= 2100:
            raise InvalidPeriod(f"no such month: {year}-{month:02d}")
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - timedelta(days=1))

    @classmethod
    def parse_month(cls, text: str) -> Period:
        """``YYYY-MM``."""
        match = _MONTH.match(text)
        if match is None:
            raise InvalidPeriod(f"a month is written YYYY-MM, got {text!r}")
        return cls.month(int(match.group(1)), int(match.group(2)))

    @classmethod
    def year(cls, year: int) -> Period:
        if not 2000 <= year <= 2100:
            raise InvalidPeriod(f"no such year: {year}")
        return cls(date(year, 1, 1), date(year, 12, 31))


def due_end(due: date) -> datetime:
    """A due date (hạn xử lý) is met by anything done during that office-local day."""
    return office_instant(due + timedelta(days=1), time(0))
