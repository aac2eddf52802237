"""What every firm process shares: the clock, the systems, the scenario."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import simpy
from faker import Faker

from mocks.core.clock import timestamp
from mocks.systems import Systems
from simulator.scenario import Scenario
from simulator.streams import Streams
from simulator.truth import GroundTruth

DAY = 86400.0
HOUR = 3600.0


class SimClock:
    """Simulated wall time: the scenario's start plus SimPy's ``now`` in seconds."""

    def __init__(self, env: simpy.Environment, start: dt.date) -> None:
        self.env = env
        self.epoch = timestamp(start)

    def now(self) -> float:
        return self.epoch + self.env.now

    def at(self, day: dt.date, hour: float = 0.0) -> float:
        """SimPy time of ``hour`` o'clock on ``day``."""
        return timestamp(day, hour) - self.epoch

    def today(self) -> dt.date:
        return dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + int(self.now() // DAY))


@dataclass
class Consultant:
    resource_id: str
    role: str
    busy_until: dt.date
    assignments: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)  # project, start, end
    sheets: list[str] = field(default_factory=list)  # the timesheets the consultant submitted, oldest first


@dataclass
class Team:
    """The consultants the firm put on a contract, until its end; the PSA project they log time on, once it exists."""

    members: list[str]
    end: dt.date
    project_id: str | None = None


@dataclass
class CustomerBooks:
    """What customers have been invoiced so far, as they keep it: per source item and per contract."""

    by_item: dict[str, int] = field(default_factory=dict)
    by_contract: dict[str, int] = field(default_factory=dict)


@dataclass
class FirmContext:
    env: simpy.Environment
    clock: SimClock
    scenario: Scenario
    systems: Systems
    streams: Streams
    faker: Faker
    consultants: list[Consultant] = field(default_factory=list)
    observations: dict[str, list] = field(default_factory=dict)
    customers: CustomerBooks = field(default_factory=lambda: CustomerBooks())
    faults: Any = None  # the run's FaultPlan, for faults the firm causes
    hand_made_projects: dict[str, str] = field(default_factory=dict)  # PSA project -> the contract it really is for
    truth: GroundTruth = field(default_factory=GroundTruth)  # what the firm knows first-hand (the oracle's source)
    teams: dict[str, Team] = field(default_factory=dict)  # contract -> its team (staffed once it is signed)

    def wait_until(self, t: float) -> simpy.Event:
        return self.env.timeout(max(0.0, t - self.env.now))

    @cached_property
    def horizon(self) -> float:
        """SimPy time at which people stop starting new work (the scenario's end, which a run never moves)."""
        return self.clock.at(self.scenario.end)

    @property
    def at_rest(self) -> bool:
        """Whether the drain has begun: nobody approves, accepts, edits or reverses anything any more.

        The last ``drain_days`` of the run belong to the connectors: every
        change the firm made has had at least that long to reach the other
        systems before the verdict is taken, so a connector with bounded
        (even asynchronous) latency is never judged on work the firm did
        in the run's last minutes.
        """
        scenario = self.scenario
        return self.env.now >= self.horizon + (scenario.settle_days - scenario.drain_days) * DAY

    def fire_fault(self, kind: str, **where) -> None:
        """Report a fault the firm itself causes (bad data at the source) to the run's fault plan."""
        if self.faults is not None:
            self.faults.fire(kind, **where)

    def observe(self, name: str, value) -> None:
        self.observations.setdefault(name, []).append(value)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def quarter_hours(value: float) -> str:
    """A duration rounded to the quarter hour, as a decimal string."""
    quarters = max(1, round(value * 4))
    return f"{quarters // 4}.{(quarters % 4) * 25:02d}"
