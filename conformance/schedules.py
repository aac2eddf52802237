"""Fault schedules found by hypothesis, shrunk to a minimal one and written out as a scenario that replays it.

A schedule says, for a few named events of a small firm's run, what
happens to their webhooks: delivered late (by how long), dropped, or sent
twice. Hypothesis draws schedules over the events the connector was
actually sent on a good day; a schedule fails when the ERP then holds
mismatches the good day did not have (invoicing late is not one: as for
every fault requirement, that is C2C-BILL-009's, on a day without faults). Hypothesis shrinks a failing
schedule (fewer events, shorter delays, earlier events) and the last
failing one is the minimal one: it is written as a scenario file that
``extends:`` the small firm and scripts exactly those fates
(``faults.webhooks.script``), so ``c2c simulate`` replays it.

Crash schedules work the same way on ``faults.crashes.at_calls``: after
which of its API calls the connector process is killed.

Runs are deterministic (the suite's seed fixes hypothesis's too), so the
same connector and seed always find, and shrink to, the same schedule.
(Hypothesis caps shrinking at five minutes of wall time; a run of the
small firm takes half a second, so shrinks here end long before that.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.observation import SCENARIOS, Observation, new_mismatches, observe
from conformance.ownership import INVOICING_RULES
from simulator.oracle import Mismatch
from simulator.scenario import Crashes, Scenario, ScriptedDelivery, load_scenario

SMALL_FIRM = SCENARIOS / "small_firm.yaml"
MAX_DELAY_H = 96  # late by up to four days, in whole hours (what shrinks well)
MAX_FAULTS = 12


@dataclass(frozen=True)
class Counterexample:
    """A minimal failing schedule, the mismatches it causes, and the scenario text that replays it."""

    base: Path  # the scenario the schedule perturbs
    faults: dict[str, Any]
    mismatches: tuple[Mismatch, ...]
    examples_run: int

    @property
    def size(self) -> int:
        return len(self.faults.get("webhooks", {}).get("script", [])) + len(self.faults.get("crashes", {}).get("at_calls", []))

    def scenario_text(self, folder: Path, name: str = "shrunk-counterexample") -> str:
        """A scenario, to be saved in ``folder``, that extends the base and scripts exactly this schedule."""
        document = {"extends": os.path.relpath(self.base, folder), "name": name,
                    "description": f"a minimal failing fault schedule ({self.size} fault(s)) found by hypothesis",
                    "faults": self.faults}
        return yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=120)


def _search(strategy: st.SearchStrategy, to_faults: Callable[[Any], dict[str, Any]], run: Callable[[dict], Observation],
            calm: Observation, seed: int, examples: int, base: Path) -> Counterexample | None:
    """The minimal failing fault section hypothesis finds within ``examples`` draws, or None."""
    failures: list[tuple[dict[str, Any], tuple[Mismatch, ...]]] = []
    count = 0

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False, print_blob=False,
              report_multiple_bugs=False, phases=(Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def schedule_holds(drawn: Any) -> None:
        nonlocal count
        count += 1
        faults = to_faults(drawn)
        new = tuple(m for m in new_mismatches(run(faults), calm) if m.rule not in INVOICING_RULES)
        if new:
            failures.append((faults, new))
            raise AssertionError(f"{len(new)} mismatches")

    try:
        schedule_holds()
    except AssertionError:
        faults, new = failures[-1]  # hypothesis ends by replaying its minimal failing example
        return Counterexample(base, faults, new, count)
    return None


def delivery_schedules(factory: Callable, seed: int, examples: int, base: Path = SMALL_FIRM) -> Counterexample | None:
    """Search late, lost and doubled webhooks on the small firm for a schedule that breaks the connector."""
    scenario = load_scenario(base)
    calm = observe(scenario, base, seed, factory)
    offered = calm.offered
    if not offered:
        return None
    fate = st.one_of(
        st.builds(lambda hours: {"delay_seconds": hours * 3600}, st.sampled_from(range(1, MAX_DELAY_H + 1))),
        st.just({"drop": True}),
        st.just({"copies": 2}),
    )
    strategy = st.lists(st.tuples(st.sampled_from(range(len(offered))), fate), min_size=1, max_size=MAX_FAULTS,
                        unique_by=lambda entry: entry[0])

    def to_faults(drawn: list[tuple[int, dict]]) -> dict[str, Any]:
        script = [{"event": offered[index], **outcome} for index, outcome in sorted(drawn, key=lambda e: e[0])]
        return {"webhooks": {"script": script}}

    def run(faults: dict[str, Any]) -> Observation:
        script = [ScriptedDelivery(**entry) for entry in faults["webhooks"]["script"]]
        perturbed = _with_faults(scenario, webhooks=scenario.faults.webhooks.model_copy(update={"script": script}))
        return observe(perturbed, base, seed, factory)

    return _search(strategy, to_faults, run, calm, seed, examples, base)


def crash_schedules(factory: Callable, seed: int, examples: int, base: Path = SMALL_FIRM) -> Counterexample | None:
    """Search kill instants (after which API calls the connector dies) for a crash that loses or doubles money."""
    scenario = load_scenario(base)
    calm = observe(scenario, base, seed, factory)
    calls = max(1, calm.result.total_api_calls)
    strategy = st.lists(st.integers(min_value=1, max_value=calls), min_size=1, max_size=4, unique=True)

    def to_faults(drawn: list[int]) -> dict[str, Any]:
        return {"crashes": {"at_calls": sorted(drawn)}}

    def run(faults: dict[str, Any]) -> Observation:
        return observe(_with_faults(scenario, crashes=Crashes(at_calls=faults["crashes"]["at_calls"])), base, seed,
                       factory)

    return _search(strategy, to_faults, run, calm, seed, examples, base)


def _with_faults(scenario: Scenario, **changes: Any) -> Scenario:
    return scenario.model_copy(update={"faults": scenario.faults.model_copy(update=changes)})
