"""The clock a mock system reads: simulated in a simulation, real in server mode.

Mocks never call ``time.time()``; they ask the clock they were given. That
is what makes a simulation replay byte for byte.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

UTC = dt.UTC


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
    return dt.datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp(day: dt.date, hour: float = 0.0) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + hour * 3600
