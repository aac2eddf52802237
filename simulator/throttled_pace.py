"""Served mode: the calendar slows while a rate limit refuses an external connector.

A scenario's rate limit is per simulated second. At a certification's speed
(about 150,000 simulated seconds per wall second) a limit of 0.1 requests a
simulated second refills a token every 66 wall microseconds, and holds no
more than its burst. A connector over HTTP cannot come back sooner than its
own round trip, a few milliseconds: it would be held to its round-trip rate,
far below what the limit allows in simulated time, and judged late for the
harness's speed rather than for how it copes with throttling.

So while some served system has refused the connector in the last
:data:`LINGER_S` wall seconds, the calendar runs no faster than the speed at
which each of those limits refills at most one token per *cadence* of the
client it refused: the smoothed wall gap between that client's requests that
came less than :data:`LINGER_S` apart
(:meth:`mocks.core.ratelimit.RateLimiter.measure_cadence`), and never less
than :data:`TOKEN_WALL_S`; once no 429 has come for :data:`LINGER_S`, it
resumes its speed. A connector that comes straight back for the next token
therefore finds one, whatever its round trip. A fixed token time (2 ms) left
the reference connector, whose requests to a throttled ERP come about 5 ms
apart (3 to 12 ms), a fifth of the limit's tokens unused, and whether it
kept its lag at the firm's peak depended on how busy the machine was.

The limit is unchanged (per simulated second), and so is everything
measured in simulated time (lag, the peak rate); only the wall time a
throttled stretch takes grows. What the pace does not forgive is a pause: a
connector that waits longer than :data:`LINGER_S` after a 429 (it puts the
work off) finds the calendar back at its speed, and the lag that costs is
its own. A connector that waits out its 429s on a timer scaled by
``C2C_TIME_SCALE`` (the full speed) waits no longer than it meant to: it
only comes back sooner, in simulated time, than it asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from mocks.core.ratelimit import RateLimiter

TOKEN_WALL_S = 0.002  # while throttled, a limit refills a token no faster than every this many wall seconds
LINGER_S = 0.02  # how long after the last 429 the calendar stays slow, and the longest gap of a cadence (wall s)


class ThrottledPace:
    """The fastest the served calendar may run now, given the rate limits of the systems it serves (it asks each
    of them to keep its clients' cadence)."""

    def __init__(self, limiters: Iterable[RateLimiter], token_wall_s: float = TOKEN_WALL_S,
                 linger_s: float = LINGER_S) -> None:
        self.limiters = list(limiters)
        self.token_wall_s = token_wall_s
        self.linger_s = linger_s
        for limiter in self.limiters:
            limiter.measure_cadence(linger_s)

    def token_wall(self, limiter: RateLimiter) -> float:
        """The wall seconds ``limiter`` takes to refill a token while it refuses: the cadence of the client it
        refused, and never less than ``token_wall_s`` (a cadence is at most ``linger_s``)."""
        return max(self.token_wall_s, limiter.refused_cadence() or 0.0)

    def __call__(self) -> float:
        """Simulated seconds per wall second: unbounded unless a limit refused a client in the last
        ``linger_s``; then the speed at which each such limit refills a token per :meth:`token_wall`."""
        return min((1.0 / (limiter.per_second * self.token_wall(limiter)) for limiter in self.limiters
                    if limiter.refused_within(self.linger_s)), default=math.inf)
