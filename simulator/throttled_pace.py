"""Served mode: the calendar slows while a rate limit refuses an external connector.

A scenario's rate limit is per simulated second. At a certification's speed
(about 150,000 simulated seconds per wall second) a limit of 0.1 requests a
simulated second refills a token every 66 wall microseconds, and holds no
more than its burst. A connector over HTTP cannot come back sooner than its
own round trip, a millisecond or more: it would be held to its round-trip
rate, far below what the limit allows in simulated time, and judged late
for the harness's speed rather than for how it copes with throttling.

So while some served system has refused the connector in the last
:data:`LINGER_S` wall seconds, the calendar runs no faster than the speed at
which each of those limits refills at most one token every
:data:`TOKEN_WALL_S` wall seconds; then it resumes its speed. The limit is
unchanged (per simulated second), and so is everything measured in
simulated time (lag, the peak rate); only the wall time a throttled stretch
takes grows. A connector that waits out its 429s on a timer scaled by
``C2C_TIME_SCALE`` (the full speed) waits no longer than it meant to: it
only comes back sooner, in simulated time, than it asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from mocks.core.ratelimit import RateLimiter

TOKEN_WALL_S = 0.002  # while throttled, a limit refills a token every this many wall seconds
LINGER_S = 0.02  # how long after the last 429 the calendar stays slow (wall seconds)


class ThrottledPace:
    """The fastest the served calendar may run now, given the rate limits of the systems it serves."""

    def __init__(self, limiters: Iterable[RateLimiter], token_wall_s: float = TOKEN_WALL_S,
                 linger_s: float = LINGER_S) -> None:
        self.limiters = list(limiters)
        self.token_wall_s = token_wall_s
        self.linger_s = linger_s

    def __call__(self) -> float:
        """Simulated seconds per wall second: unbounded unless a limit refused a client in the last
        ``linger_s``; then the speed at which each such limit refills at most a token every ``token_wall_s``."""
        return min((1.0 / (limiter.per_second * self.token_wall_s) for limiter in self.limiters
                    if limiter.refused_within(self.linger_s)), default=math.inf)
