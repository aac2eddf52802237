"""How often the reference connector does its periodic work, and how long it backs off.

Every interval is in seconds of the runtime's clock. In process that is
simulated time, and the defaults are a production connector's cadence (a
feed poll every 4 hours, a drain every hour...). Run as a separate process
against a firm served S times faster than real time (``python -m
reference_impl`` with ``C2C_TIME_SCALE=S``), the connector keeps up by
doing the same work S times as often: :meth:`Cadence.compressed`.

A ``Retry-After`` a system asks for is never compressed: it is the
system's wall-clock demand, not the connector's cadence.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Cadence:
    drain_s: float = 3600.0  # work off due inbox entries (backoffs ended, work a crashed instance left)
    feed_poll_s: float = 4 * 3600.0  # a dropped webhook is picked up from the change feed within this time
    period_sweep_s: float = 6 * 3600.0  # catch up on ERP periods opened while nobody listened
    sweep_retry_s: float = 300.0  # a period sweep that failed is tried again this soon
    dead_letter_replay_s: float = 12 * 3600.0  # sources get fixed: dead letters get fresh attempts
    reconcile_check_s: float = 6 * 3600.0  # is the monthly reconciliation due?
    base_backoff_s: float = 30.0  # a failed inbox entry's first retry; doubling up to max_backoff_s
    max_backoff_s: float = 3600.0

    def compressed(self, factor: float) -> Cadence:
        """Every interval ``factor`` times shorter (``factor`` > 0)."""
        if not factor > 0:
            raise ValueError(f"a cadence is compressed by a positive factor, not {factor!r}")
        return replace(self, **{f.name: getattr(self, f.name) / factor for f in fields(self)})


PRODUCTION = Cadence()
