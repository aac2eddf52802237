"""Per-client token buckets: 429 with ``Retry-After``, as real SaaS APIs answer.

Each client's bucket refills at ``per_second`` up to ``burst`` tokens on the
system's clock. A request that finds the bucket empty is refused with 429
and told, in whole seconds, when a token will be there. The limiter also
counts *early* requests: ones that arrive before the ``Retry-After`` the
client was given has passed. A client that honours ``Retry-After`` makes
none; that is how a conformance check tells the two apart.

The bucket refills on the system's clock, as the scenario's limit says
(tokens per simulated second). ``Retry-After`` is what the client measures:
by default on the same clock, at least 1 second; after
:meth:`RateLimiter.tell_wait_on` (served mode) in seconds of another clock,
the wall clock, which runs ``speed`` times slower: the wait is converted and
rounded down (often to 0: retry at once, since the bucket refills that much
faster), never making a client wait longer than the limit demands, and an
early request is one that comes before that wall-clock instant.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from mocks.core.problems import Problem


class RateLimited(Problem):
    status = 429
    kind = "rate_limited"
    title = "Too many requests"


@dataclass
class _Bucket:
    tokens: float
    updated: float
    not_before: float = 0.0  # the Retry-After last given


class RateLimiter:
    def __init__(self, now: Callable[[], float], per_second: float, burst: int) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_second > 0 and burst >= 1")
        self.now = now
        self.per_second = per_second
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}
        self.refused: Counter[str] = Counter()
        self.early: Counter[str] = Counter()
        self._client_now = now  # the clock Retry-After is told on
        self._speed = 1.0  # refill-clock seconds per client-clock second
        self.last_refused_at: float | None = None  # on the clock Retry-After is told on

    def tell_wait_on(self, client_now: Callable[[], float], speed: float) -> None:
        """Tell ``Retry-After`` (and judge early requests) on ``client_now``, a clock ``speed`` times slower than
        the one the bucket refills on."""
        self._client_now = client_now
        self._speed = speed

    def refused_within(self, seconds: float) -> bool:
        """Whether some client was refused in the last ``seconds`` of the clock ``Retry-After`` is told on."""
        return self.last_refused_at is not None and self._client_now() - self.last_refused_at < seconds

    def admit(self, client_id: str) -> None:
        now = self.now()
        bucket = self._buckets.setdefault(client_id, _Bucket(float(self.burst), now))
        if now > bucket.updated:  # a refill clock that reads back a little (served mode's paced one) refills nothing
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
        if self._client_now() < bucket.not_before:
            self.early[client_id] += 1
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = max(1, math.ceil((1 - bucket.tokens) / self.per_second))
        if self._speed != 1:  # told on a slower clock: whole seconds of it, rounded down (0: retry at once)
            wait = int(wait / self._speed)
        self.last_refused_at = self._client_now()
        bucket.not_before = self.last_refused_at + wait
        self.refused[client_id] += 1
        raise RateLimited(f"rate limit of {self.per_second}/s (burst {self.burst}) exceeded; retry in {wait} s",
                          headers={"retry-after": str(wait)})
