"""Runs of the conformance scenarios against the connector under test, each run once per session.

Several requirements read the same scenario (the billing rules all read
``billing.yaml``), so a run is cached by scenario and seed. Besides the
simulation result, an observation keeps the trace records the checks
need and the oracle does not: the faults that fired and the attacks.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.catalog import BILLING_TYPE_OF
from conformance.subject import Subject
from simulator.run import SimulationResult, simulate
from simulator.scenario import Faults, Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
KEPT = frozenset({"fault", "attack", "webhook_failed"})


@dataclass
class Observation:
    scenario_path: Path
    seed: int
    result: SimulationResult
    records: list[dict[str, Any]] = field(default_factory=list)
    offered_per_hour: Counter = field(default_factory=Counter)  # simulated hour -> webhooks first sent in it
    offered: list[str] = field(default_factory=list)  # ids of the events webhooks were sent for, first send order

    def faults(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "fault" and r["fault"] == kind]

    def attacks(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "attack"]


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def simulate_command(scenario_path: Path, seed: int, connector: str) -> str:
    return (f"c2c simulate {shlex.quote(relative(scenario_path))} --seed {seed} "
            f"--connector {shlex.quote(connector)}")


def observe(scenario: Scenario, scenario_path: Path, seed: int, factory: Callable) -> Observation:
    records: list[dict[str, Any]] = []
    per_hour: Counter = Counter()
    sent: dict[str, None] = {}  # an ordered set

    def keep(record: dict[str, Any]) -> None:
        if record["kind"] in KEPT:
            records.append(record)
        elif record["kind"] == "webhook" and record["attempt"] == 1:
            per_hour[int(record["t"] // 3600)] += 1
            if record["id"] not in sent:
                sent[record["id"]] = None

    result = simulate(scenario, seed, sink=keep, factory=factory)
    return Observation(scenario_path, seed, result, records, per_hour, list(sent))


class Observations:
    """Every scenario the session needs, run on demand against one subject and one seed."""

    def __init__(self, subject: Subject, seed: int) -> None:
        self.subject = subject
        self.seed = seed
        self._runs: dict[str, Observation] = {}

    def scenario(self, path: Path) -> Scenario:
        """The scenario as this subject meets it: without the billing types it declares it does not support."""
        scenario = load_scenario(path)
        unsupported = {BILLING_TYPE_OF[c] for c in BILLING_TYPE_OF if self.subject.lacks(c)}
        mix = {kind: share for kind, share in scenario.contracts.billing_types.items() if kind not in unsupported}
        if unsupported and mix:
            scenario = scenario.model_copy(update={"contracts": scenario.contracts.model_copy(
                update={"billing_types": mix})})
        return scenario

    def of(self, scenario_file: str) -> Observation:
        if scenario_file not in self._runs:
            path = SCENARIOS / scenario_file
            self._runs[scenario_file] = observe(self.scenario(path), path, self.seed, self.subject.factory)
        return self._runs[scenario_file]

    def control(self, scenario_file: str) -> Observation:
        """The same scenario and seed with no faults at all: what the connector does on a good day.

        Scenarios that differ only in their faults share one control run.
        """
        path = SCENARIOS / scenario_file
        calm = self.scenario(path).model_copy(update={"faults": Faults()})
        key = "control:" + calm.model_dump_json(exclude={"name", "description"})
        if key not in self._runs:
            self._runs[key] = observe(calm, path, self.seed, self.subject.factory)
        return self._runs[key]
