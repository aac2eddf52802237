"""The clock a mock system reads: simulated in a simulation, real in server mode.

Mocks never call ``time.time()``; they ask the clock they were given. That
is what makes a simulation replay byte for byte.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol

UTC = dt.UTC
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LAST_FOUR_DIGIT_YEAR = 253_402_300_799  # 9999-12-31T23:59:59Z


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""


class FixedClock:
    """A clock that moves only when told to; for unit tests."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def iso(ts: float) -> str:
    """``datetime.fromtimestamp(ts, UTC)`` to the second, as ``2026-01-05T09:00:00Z``.

    Between 1970 and 9999 the second is found as ``fromtimestamp`` finds it (microseconds rounded half to even,
    so 0.9999995 s past a second is the next one) and rendered by ``time.strftime``: the same text, in half the
    time of building a ``datetime`` (every change a system stamps renders one)."""
    if not 0 <= ts <= LAST_FOUR_DIGIT_YEAR:
        return dt.datetime.fromtimestamp(ts, UTC).strftime(ISO_FORMAT)
    second = int(ts)
    if round((ts - second) * 1e6) >= 1_000_000:
        second += 1
    return time.strftime(ISO_FORMAT, time.gmtime(second))


def timestamp(day: dt.date, hour: float = 0.0) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + hour * 3600
