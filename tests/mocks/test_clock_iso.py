"""``mocks.core.clock.iso`` renders a timestamp exactly as ``datetime.fromtimestamp(ts, UTC)`` does, to the second,
including where rounding the microseconds carries into the next second."""

from __future__ import annotations

import datetime as dt
import random

from mocks.core.clock import iso


def by_datetime(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_timestamp_renders_as_datetime_renders_it() -> None:
    rng = random.Random(7)
    start = 1_767_225_600.0  # 2026-01-01
    stamps = [start + rng.random() * 4e7 for _ in range(20_000)]
    stamps += [start + k + fraction for k in range(0, 86_400 * 400, 86_399) for fraction in
               (0.0, 0.4999995, 0.5, 0.9999994999, 0.9999995, 0.99999951, 1 - 2**-20)]
    stamps += [0.0, 0.9999995, 951_782_400.5, 253_402_300_799.0, 253_402_300_798.9999996]
    for ts in stamps:
        assert iso(ts) == by_datetime(ts), ts
