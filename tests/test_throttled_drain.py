"""A throttled connector waits: one 429 stops its drain, instead of one try per entry of its backlog.

After a 429 the reference's client refuses every request to that system
locally until the wait is over, so a drain that went on through a backlog
of thousands would not reach the system, but would still try each entry,
under the connector's lock, for as long as the backlog is long. Served
fast (black-box certification) that lock is what the connector's webhook
handler waits for, the firm waits for the handler's answer, simulated time
stands still, and the system's bucket (which refills on the firm's clock)
never refills: the connector spun on 429s and the run never caught up.
In process the same shows as the entries tried, and throttled, at one
simulated instant. (A burst of webhooks at one instant, such as a billing
run's invoices, is still tried once each, then waits in the inbox.)
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reference_impl.connector import ReferenceConnector
from simulator.run import simulate
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


class Counted(ReferenceConnector):
    """The reference, counting the inbox entries it tried at each instant that a system throttled (answered 429,
    or refused locally while its client waits)."""

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.throttled_at: Counter[float] = Counter()

    def work(self, entry: dict) -> bool:
        throttled = super().work(entry)
        if throttled:
            self.throttled_at[self.runtime.clock.now()] += 1
        return throttled


class Drain(Counted):
    """The reference as it was: a drain goes on through its backlog after a 429, and each throttled entry asks for
    a drain of its own."""

    def drain(self) -> bool:
        for entry in self.inbox.due():
            self.work(entry)
        return False

    def drain_soon(self, delay: float) -> None:
        self.runtime.scheduler.call_later(delay, self.drain)


def run(connector: type) -> tuple[Any, Counter]:
    built: list[Counted] = []

    def build(runtime: Any) -> Any:
        built.append(connector(runtime))
        return built[-1]

    scenario = load_scenario(ROOT / "conformance" / "scenarios" / "load.yaml")
    result = simulate(scenario, seed=1, factory=build)
    return result, built[0].throttled_at


@pytest.fixture(scope="module")
def reference():
    return run(Counted)


def test_a_429_stops_the_drain_and_nothing_is_lost(reference) -> None:
    result, throttled_at = reference
    assert throttled_at, "the ERP throttled the connector"
    assert result.reconciliation.ok, [str(m) for m in result.reconciliation.mismatches[:5]]


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_a_drain_that_goes_on_after_a_429_hammers_the_throttled_system(reference) -> None:
    """The counterfactual: the monthly reconciliation queues hundreds of contracts at one instant; a drain that
    goes on after a 429 meets one per contract there, the reference one or two, and far fewer in all."""
    _, stopping = reference
    _, hammering = run(Drain)
    instant, hammered = hammering.most_common(1)[0]
    assert hammered >= 100, hammering.most_common(3)
    assert stopping[instant] <= 3, (instant, stopping[instant])
    assert 2 * sum(stopping.values()) < sum(hammering.values()), (sum(stopping.values()), sum(hammering.values()))


class LeavesItsQueue(Counted):
    """A connector (like a queue worked only on a timer) whose drain leaves due entries where they are."""

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.asked_at: Counter[float] = Counter()

    def drain(self) -> bool:
        return False

    def drain_soon(self, delay: float) -> None:
        now = self.runtime.clock.now()
        self.asked_at[now] += 1
        if self.asked_at[now] > 1000:
            raise RuntimeError("drain_soon spins at one instant")  # the harness logs it and the loop ends
        super().drain_soon(delay)


def test_a_drain_that_leaves_due_entries_is_not_asked_again_at_the_same_instant() -> None:
    built: list[LeavesItsQueue] = []

    def build(runtime: Any) -> Any:
        built.append(LeavesItsQueue(runtime))
        return built[-1]

    simulate(load_scenario(ROOT / "conformance" / "scenarios" / "rate_limits.yaml"), seed=1, factory=build)
    assert built[0].throttled_at, "the ERP throttled the connector"
    assert max(built[0].asked_at.values()) <= 50, built[0].asked_at.most_common(3)  # one per webhook, not a spin
