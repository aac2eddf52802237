"""P5 (performance target): ``c2c sweep`` on 2 worker processes runs at least 1.6× the runs per wall second it
runs on 1, on the 2-core reference machine.

Both are measured in this one test, side by side and alternating (1 worker, 2 workers, twice), each into a
fresh output directory so that nothing is reused, and the best time of each is compared: a ratio within one
run, never an absolute speed. The sweep is 4 grid points × 2 seeds of the small firm (8 runs, about a second
each), so the pool's start-up is a small part of it, as it is in a real sweep. The two directories' results
must be byte-identical too.

Measured on the 2-core reference machine: see ``benchmark.extra_info`` (recorded in README's "What-if sweeps").
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from tests.conftest import ROOT

pytestmark = pytest.mark.benchmark_suite

MIN_SPEEDUP = 1.6
ROUNDS = 2


def test_two_workers_sweep_at_least_1_6_times_as_fast_as_one(benchmark, tmp_path: Path) -> None:
    sweep = tmp_path / "p5.yaml"
    sweep.write_text(f"name: p5\nscenario: {ROOT / 'tests' / 'scenarios' / 'small.yaml'}\nseeds: [1, 2]\n"
                     f"grid:\n  people.approval_delay_hours: [[2, 24], [24, 48], [48, 96], [96, 144]]\n")
    walls: dict[int, list[float]] = {1: [], 2: []}
    outputs: dict[int, Path] = {}

    def run(jobs: int) -> None:
        out = tmp_path / f"jobs{jobs}-{len(walls[jobs])}"
        started = time.perf_counter()
        result = CliRunner().invoke(main, ["sweep", str(sweep), "--jobs", str(jobs), "--out", str(out), "--quiet"])
        walls[jobs].append(time.perf_counter() - started)
        assert result.exit_code == 0, result.output
        outputs[jobs] = out

    def side_by_side() -> None:
        for _ in range(ROUNDS):
            run(1)
            run(2)

    benchmark.pedantic(side_by_side, rounds=1, iterations=1)
    runs = 8
    one, two = min(walls[1]), min(walls[2])
    speedup = one / two
    benchmark.extra_info.update({
        "runs": runs,
        "one_worker_wall_seconds": [round(w, 2) for w in walls[1]],
        "two_workers_wall_seconds": [round(w, 2) for w in walls[2]],
        "one_worker_runs_per_second": round(runs / one, 3),
        "two_workers_runs_per_second": round(runs / two, 3),
        "speedup": round(speedup, 3),
        "min_speedup": MIN_SPEEDUP,
    })
    for name in ("runs.csv", "points.csv", "sweep.json"):
        assert (outputs[1] / name).read_bytes() == (outputs[2] / name).read_bytes()
    assert speedup >= MIN_SPEEDUP, benchmark.extra_info
