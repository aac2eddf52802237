"""A sweep's gates: the ``kpis:`` thresholds of a gates file judged on every run of the sweep.

Each run — every grid point on every seed — must meet every threshold, as
one ``c2c simulate --gate`` run must: a sweep passes when no run of any
point breaches a gate. A point's mean is not gated: a mean that meets
``reconciliation.mismatches == 0`` hides nothing, but one that meets
``<= 1`` may hide a seed with three, and a CI pipeline gating a sweep asks
"does every what-if in the grid hold?", which only the runs answer.

Pure: :func:`gate_runs` takes the loaded gates, the sweep and the runs'
KPIs by ``(point id, seed)`` and returns one :class:`RunGates` per run,
in point then seed order (so the JUnit document is byte-identical
whatever order the runs finished in); :func:`junit_cases` makes one JUnit
test case per gate and run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.gates import Gates, Outcome, evaluate
from simulator.gates import junit_cases as gate_cases
from simulator.junit import Case
from simulator.sweep_file import Sweep, SweepPoint


@dataclass(frozen=True)
class RunGates:
    """The gates' outcomes on one run, in the gates file's order."""

    point: SweepPoint
    seed: int
    outcomes: tuple[Outcome, ...]


def gate_runs(gates: Gates, sweep: Sweep, runs: Mapping[tuple[str, int], dict[str, Any]]) -> list[RunGates]:
    return [RunGates(point, seed, tuple(evaluate(gates, runs[(point.id, seed)])))
            for point in sweep.points for seed in sweep.seeds]


def junit_cases(sweep: Sweep, judged: list[RunGates]) -> list[Case]:
    """One case per gate and run: class ``c2c.sweep.<sweep>.<point>``, name ``<gate> (seed N)``; a failure's text
    also names the point's swept values."""
    cases = []
    for run in judged:
        classname = f"c2c.sweep.{sweep.name}.{run.point.id}"
        for case in gate_cases(run.outcomes, classname):
            detail = case.detail if case.status == "pass" else f"{case.detail}\npoint {run.point.id}: {run.point.describe()}"
            cases.append(Case(f"{case.name} (seed {run.seed})", case.classname, case.status, case.message, detail,
                              case.file, case.line))
    return cases


@dataclass(frozen=True)
class GateTally:
    """One gate across the sweep: how many runs it passed, failed and could not judge, and its first breach."""

    outcome: Outcome  # the first run's outcome (for the gate, its text and where it is written)
    passed: int
    failed: int
    errors: int
    first_breach: tuple[RunGates, Outcome] | None


def tally(judged: list[RunGates]) -> list[GateTally]:
    """Per gate, in the file's order, its counts over every run."""
    if not judged:
        return []
    tallies = []
    for index, first in enumerate(judged[0].outcomes):
        outcomes = [(run, run.outcomes[index]) for run in judged]
        breaches = [(run, outcome) for run, outcome in outcomes if outcome.status != "pass"]
        tallies.append(GateTally(first, sum(o.status == "pass" for _, o in outcomes),
                                 sum(o.status == "fail" for _, o in outcomes),
                                 sum(o.status == "error" for _, o in outcomes),
                                 breaches[0] if breaches else None))
    return tallies
