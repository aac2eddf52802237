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

Where it is asked to (:meth:`RateLimiter.measure_cadence`), the limiter also
keeps each client's *cadence*: the smoothed gap, on the clock ``Retry-After``
is told on, between its requests that come close together. Served mode
slows its calendar to the cadence of the client it is refusing
(:mod:`simulator.throttled_pace`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from mocks.core.problems import Problem

CADENCE_WEIGHT = 0.2  # how much each new gap between a client's requests moves its smoothed cadence


class RateLimited(Problem):
    status = 429
    kind = "rate_limited"
    title = "Too many requests"


@dataclass
class _Bucket:
    tokens: float
    updated: float
    not_before: float = 0.0  # the Retry-After last given
    last_request_at: float | None = None  # on the clock Retry-After is told on
    cadence: float | None = None  # the smoothed gap between its requests that came close together


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
        self.last_refused_client: str | None = None
        self._cadence_horizon = 0.0  # gaps up to this long are a client's cadence (0: cadence not kept)

    def tell_wait_on(self, client_now: Callable[[], float], speed: float) -> None:
        """Tell ``Retry-After`` (and judge early requests) on ``client_now``, a clock ``speed`` times slower than
        the one the bucket refills on."""
        self._client_now = client_now
        self._speed = speed

    def measure_cadence(self, horizon: float) -> None:
        """From now on, keep each client's cadence: the gap between two of its requests at most ``horizon`` apart
        on the clock ``Retry-After`` is told on, smoothed (each new gap weighs :data:`CADENCE_WEIGHT`); a longer gap
        is a pause, not a cadence, and leaves it as it was."""
        self._cadence_horizon = horizon

    def cadence_of(self, client_id: str) -> float | None:
        """A client's cadence (None: not kept, or not known yet: no two of its requests close enough together)."""
        bucket = self._buckets.get(client_id)
        return bucket.cadence if bucket is not None else None

    def refused_cadence(self) -> float | None:
        """The cadence of the client refused last (None: none refused yet, or its cadence is not known)."""
        return self.cadence_of(self.last_refused_client) if self.last_refused_client is not None else None

    def refused_within(self, seconds: float) -> bool:
        """Whether some client was refused in the last ``seconds`` of the clock ``Retry-After`` is told on."""
        return self.last_refused_at is not None and self._client_now() - self.last_refused_at < seconds

    def admit(self, client_id: str) -> None:
        now = self.now()
        bucket = self._buckets.setdefault(client_id, _Bucket(float(self.burst), now))
        if now > bucket.updated:  # a refill clock that reads back a little (served mode's paced one) refills nothing
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
        at = self._client_now()
        if at < bucket.not_before:
            self.early[client_id] += 1
        if self._cadence_horizon:
            self._keep_cadence(bucket, at)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = max(1, math.ceil((1 - bucket.tokens) / self.per_second))
        if self._speed != 1:  # told on a slower clock: whole seconds of it, rounded down (0: retry at once)
            wait = int(wait / self._speed)
        self.last_refused_at, self.last_refused_client = at, client_id
        bucket.not_before = self.last_refused_at + wait
        self.refused[client_id] += 1
        raise RateLimited(f"rate limit of {self.per_second}/s (burst {self.burst}) exceeded; retry in {wait} s",
                          headers={"retry-after": str(wait)})

    def _keep_cadence(self, bucket: _Bucket, at: float) -> None:
        if bucket.last_request_at is not None and 0 <= at - bucket.last_request_at <= self._cadence_horizon:
            gap = at - bucket.last_request_at
            bucket.cadence = gap if bucket.cadence is None else bucket.cadence + CADENCE_WEIGHT * (gap - bucket.cadence)
        bucket.last_request_at = at
