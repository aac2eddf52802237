"""Faults that strike at an instant of the run, not on a request: one registered timer per kind.

A timer reads the run (its fault plan, connector host, couriers and
systems) and yields ``(instant, action)`` pairs: seconds since the run's
start, and what happens then. :func:`schedule` starts one SimPy process per
pair, timers in registration order, so the same scenario and seed strike
at the same instants in the same order. Adding a timed fault kind is one
function registered with :func:`timer`, plus its field in the scenario's
``faults`` section. (Faults on requests are the transport's registered
effects, ``mocks.core.faults.EFFECTS``; faults on deliveries are the
courier's fates, drawn by ``simulator.faults.FaultPlan``.)
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import simpy

from mocks.systems import Systems
from simulator.courier import Courier
from simulator.faults import FaultPlan
from simulator.host import ConnectorHost
from simulator.scenario import Scenario

DAY = 86400.0

Action = Callable[[], Generator[Any, Any, None] | None]  # an action may take simulated time (a generator)


@dataclass(frozen=True)
class Run:
    """What a timer may read and act on."""

    env: simpy.Environment
    epoch: float  # the run's start, Unix time
    horizon: float  # seconds from the start to the end of the last month
    scenario: Scenario
    faults: FaultPlan
    host: ConnectorHost
    couriers: list[Courier]
    systems: Systems


Timer = Callable[[Run], Iterator[tuple[float, Action]]]
TIMERS: dict[str, Timer] = {}


def timer(kind: str) -> Callable[[Timer], Timer]:
    """Register the timer of a timed fault kind (the name its trace records carry)."""
    def register(function: Timer) -> Timer:
        if kind in TIMERS:
            raise ValueError(f"timed fault {kind!r} is registered twice")
        TIMERS[kind] = function
        return function
    return register


def schedule(run: Run) -> None:
    """One SimPy process per instant every registered timer yields."""
    for make in TIMERS.values():
        for at, action in make(run):
            run.env.process(_strike(run.env, at, action))


def _strike(env: simpy.Environment, at: float, action: Action):
    yield env.timeout(max(0.0, at - env.now))
    taking_time = action()
    if taking_time is not None:
        yield from taking_time


@timer("connector_crash")
def _crashes(run: Run) -> Iterator[tuple[float, Action]]:
    """``crashes.every_hours``: the process dies between two pieces of work, and restarts."""
    def crash() -> None:
        run.faults.fire("connector_crash")
        run.host.crash()
    for instant in run.faults.crash_instants(run.epoch, run.epoch + run.horizon):
        yield instant - run.epoch, crash


@timer("token_revoked")
def _revocations(run: Run) -> Iterator[tuple[float, Action]]:
    """``token_revocation_every_hours``: every system revokes every token."""
    for instant in run.faults.revocation_instants(run.epoch, run.epoch + run.horizon):
        yield instant - run.epoch, run.faults.revoke_tokens


@timer("connector_downtime")
def _downtime(run: Run) -> Iterator[tuple[float, Action]]:
    """``crashes.downtime``: down for a window (a deploy gone wrong), then restarted."""
    for window in run.scenario.faults.crashes.downtime:
        seconds = window.hours * 3600

        def down(seconds: float = seconds) -> Generator[Any, Any, None]:
            run.faults.fire("connector_downtime", hours=round(seconds / 3600, 3))
            yield from run.host.down_for(seconds)
        yield window.start.timestamp() - run.epoch, down


@timer("redeliver_all")
def _redelivery(run: Run) -> Iterator[tuple[float, Action]]:
    """``webhooks.redeliver_all_after_days``: after the last month, every system sends every event again."""
    after = run.scenario.faults.webhooks.redeliver_all_after_days
    if after is None:
        return

    def redeliver() -> None:
        for courier in run.couriers:
            feed = run.systems.backend(courier.outbox.system).feed
            events, _ = feed.read(str(feed.oldest - 1), feed.head)
            run.faults.fire("redeliver_all", system=feed.system, events=len(events))
            courier.redeliver_all(events)
    yield run.horizon + after * DAY, redeliver
