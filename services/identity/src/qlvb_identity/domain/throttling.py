"""Login throttling and lockout (khóa tài khoản khi đăng nhập sai nhiều lần)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    """``max_failures`` failed attempts within ``window`` lock for ``lock_for``."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)

    def locked_until(self, failures: Iterable[datetime], now: datetime) -> datetime | None:
        """When the lock from these failures ends, or None if not locked at ``now``.

        ``failures`` are the failed attempts since the last successful login. Attempts refused
        while locked are not failures, so the window starts afresh after the lock.
        """
        until: datetime | None = None
        counted: list[datetime] = []
        for failure in sorted(failures):
            if until is not None and failure < until:
                continue  # refused during a lock: neither counts nor extends it
            since = failure - self.window
            counted = [c for c in counted if c >= since] + [failure]
            if len(counted) >= self.max_failures:
                until = failure + self.lock_for
                counted = []
        if until is not None and now < until:
            return until
        return None
