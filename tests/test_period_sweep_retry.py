"""A failed period sweep is tried again once, however often the sweep fails while that retry waits.

The reference sweeps the ERP's open periods on a timer and, when a sweep
fails, tries it again soon. Each failed sweep used to schedule a retry of
its own, and each retry that failed another: while the ERP throttled the
connector, every timer tick started one more chain of retries, and the
chains together became a stream of ``GET /periods`` that kept the ERP's
rate limit spent (served fast, several thousand in a month instead of a
few a day), starving the charges it was throttling.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from reference_impl.api import Throttled
from reference_impl.cadence import PRODUCTION
from reference_impl.settlement import Settlement


class Scheduler:
    def __init__(self) -> None:
        self.waiting: list[tuple[float, Any]] = []

    def call_later(self, delay_s: float, fn: Any) -> None:
        self.waiting.append((delay_s, fn))

    def run_next(self) -> None:
        _, fn = self.waiting.pop(0)
        fn()


class ThrottlingErp:
    def __init__(self) -> None:
        self.reads = 0
        self.throttling = True

    def list_all(self, path: str) -> list[dict[str, Any]]:
        self.reads += 1
        if self.throttling:
            raise Throttled("erp", "GET", path, 2.0)
        return []


def settlement() -> tuple[Settlement, Scheduler, ThrottlingErp]:
    scheduler, erp = Scheduler(), ThrottlingErp()
    runtime = SimpleNamespace(scheduler=scheduler)
    return Settlement(runtime, {"erp": erp}, None, None, None, None, None, PRODUCTION), scheduler, erp


def test_sweeps_that_fail_while_a_retry_waits_add_no_retry() -> None:
    sweeps, scheduler, erp = settlement()
    for _ in range(5):  # the timer's ticks, all while the ERP throttles
        sweeps.sweep_periods()
    assert len(scheduler.waiting) == 1
    assert scheduler.waiting[0][0] == PRODUCTION.sweep_retry_s  # the longer of the retry delay and Retry-After


def test_a_retry_that_fails_again_waits_again_and_one_that_succeeds_stops() -> None:
    sweeps, scheduler, erp = settlement()
    sweeps.sweep_periods()
    scheduler.run_next()  # the retry fails too: one more retry waits
    assert len(scheduler.waiting) == 1
    erp.throttling = False
    scheduler.run_next()
    assert scheduler.waiting == [] and erp.reads == 3
    sweeps.sweep_periods()  # a later failure may wait again
    erp.throttling = True
    sweeps.sweep_periods()
    assert len(scheduler.waiting) == 1
