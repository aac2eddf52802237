"""A scenario's fault-free companion is run only when a run under faults has a mismatch to compare.

A fault requirement asks whether the faults caused a mismatch, so it
compares a run that has mismatches with the same scenario without faults.
A clean run needs no comparison: its companion is not run (in process, and
in black-box mode, where each run is minutes of served time), and a
scenario without faults is its own companion, never run twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.checks.evidence import caused_by_faults
from conformance.observation import Observations
from conformance.subject import load_subject
from simulator.scenario import Faults, Scenario

FAULTY, CALM = "lost_responses.yaml", "billing.yaml"


class ScriptedRuns:
    """Stands for a connector's runs: how many mismatches a run with and without faults ends with, and which ran."""

    def __init__(self, faulty_mismatches: int, calm_mismatches: int = 0) -> None:
        self.mismatches = {True: faulty_mismatches, False: calm_mismatches}
        self.made: list[tuple[str, bool]] = []

    def __call__(self, scenario: Scenario, path: Path, seed: int, sink: Any) -> Any:
        faulted = scenario.faults != Faults()
        self.made.append((path.name, faulted))
        mismatches = [SimpleNamespace(rule="R", n=n) for n in range(self.mismatches[faulted])]
        return SimpleNamespace(reconciliation=SimpleNamespace(mismatches=mismatches))


def observations_with(runs: ScriptedRuns, tmp_path: Path) -> Observations:
    observations = Observations(load_subject("reference_impl.connector:build"), 1, tmp_path)
    observations._run = runs
    return observations


def settled(runs: ScriptedRuns, count: int) -> None:
    """Wait for prefetch's threads to have made ``count`` runs (they hand over before they finish)."""
    deadline = time.monotonic() + 10
    while len(runs.made) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_clean_run_under_faults_is_judged_without_its_companion(tmp_path: Path) -> None:
    runs = ScriptedRuns(faulty_mismatches=0)
    observations = observations_with(runs, tmp_path)
    evidence = caused_by_faults(observations.of(FAULTY), lambda: observations.control(FAULTY))
    assert evidence.findings == [] and evidence.claimed == []
    assert runs.made == [(FAULTY, True)]


def test_a_run_with_mismatches_is_compared_with_its_companion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = ScriptedRuns(faulty_mismatches=3, calm_mismatches=3)
    observations = observations_with(runs, tmp_path)

    class Compared(Exception):
        """The comparison was reached, with this companion."""

    def compare(run: Any, calm: Any) -> Any:
        raise Compared(calm)
    monkeypatch.setattr("conformance.checks.evidence.new_mismatches", compare)
    with pytest.raises(Compared) as compared:
        caused_by_faults(observations.of(FAULTY), lambda: observations.control(FAULTY))
    assert runs.made == [(FAULTY, True), (FAULTY, False)]
    assert compared.value.args == (observations.control(FAULTY),)


def test_a_scenario_without_faults_is_its_own_companion(tmp_path: Path) -> None:
    runs = ScriptedRuns(faulty_mismatches=0, calm_mismatches=2)
    observations = observations_with(runs, tmp_path)
    assert observations.control(CALM) is observations.of(CALM)
    assert runs.made == [(CALM, False)]


@pytest.mark.parametrize(("faulty_mismatches", "made"), [
    (0, [(FAULTY, True), (CALM, False)]),  # nothing to compare: no companion
    (4, [(FAULTY, True), (CALM, False), (FAULTY, False)]),  # its companion, once, right after it
])
def test_prefetch_runs_a_companion_only_after_a_run_with_mismatches(tmp_path: Path, faulty_mismatches: int,
                                                                   made: list[tuple[str, bool]]) -> None:
    runs = ScriptedRuns(faulty_mismatches)
    observations = observations_with(runs, tmp_path)
    observations.prefetch([FAULTY, CALM, CALM], workers=1)  # one thread: the order is the order of the work
    observations.of(FAULTY)
    settled(runs, len(made))
    assert sorted(runs.made) == sorted(made)
    if faulty_mismatches:
        assert runs.made.index((FAULTY, False)) > runs.made.index((FAULTY, True))
    companion = observations.control(FAULTY)  # handed over, or made now when nothing was prefetched
    assert len(companion.result.reconciliation.mismatches) == 0
    assert runs.made.count((FAULTY, False)) == 1
    assert observations.control(CALM) is observations.of(CALM)
    assert runs.made.count((CALM, False)) == 1
