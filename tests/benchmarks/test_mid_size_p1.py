"""P1 (performance yardstick): the mid-size firm in at most 30 s wall and 1 GiB peak RSS.

Runs ``c2c simulate scenarios/mid_size.yaml`` in a fresh process, so the
peak RSS in ``run.json`` is the simulation's own, and reads the figures
the product itself records. A bare ``httpx.MockTransport`` loop is timed
in the same run, just before and just after the simulation, and its ratio
to the simulation's connector call rate is recorded beside the absolute
figures, so a slow machine can be told apart from a slow simulation.

The 30 s hold for a machine on which that loop reaches
:data:`SLOW_MACHINE_LOOP_RATE` calls a second: the slower 2-core machines
this project runs on (4,400 to 6,300 calls/s, measured on 2026-11-30; the
machine the target was first met on reached 11,500 to 12,400). Those are
shared virtual machines, and their speed swings within minutes (the same
year-long run took 201 s and 270 s on one of them an hour apart). Where
the loop is slower than that in this run, the budget grows in the same
proportion, so a busy neighbour does not fail CI; on a machine at that
speed or faster, the budget is 30 s. A simulation that slows down against
the loop still fails.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.benchmarks.test_simulation_speed import bare_loop_rate
from tests.conftest import ROOT

pytestmark = pytest.mark.benchmark_suite

P1_WALL_SECONDS = 30.0
P1_PEAK_RSS_MIB = 1024.0
SLOW_MACHINE_LOOP_RATE = 6000.0  # bare MockTransport calls/s on the slower machines of this kind (see the docstring)


def test_mid_size_meets_p1(benchmark, tmp_path) -> None:
    before = bare_loop_rate()

    def run() -> dict:
        out = tmp_path / "mid"
        subprocess.run([sys.executable, "-m", "simulator.cli", "simulate", str(ROOT / "scenarios" / "mid_size.yaml"),
                        "--seed", "1", "--out", str(out), "--quiet"], check=True, cwd=ROOT, capture_output=True)
        return json.loads((out / "run.json").read_text())

    run_json = benchmark.pedantic(run, rounds=1, iterations=1)
    mock_rate = (before + bare_loop_rate()) / 2
    budget = P1_WALL_SECONDS * max(1.0, SLOW_MACHINE_LOOP_RATE / mock_rate)
    kpis = json.loads((tmp_path / "mid" / "kpis.json").read_text())
    benchmark.extra_info.update({
        "wall_seconds": run_json["wall_seconds"], "peak_rss_mib": run_json["peak_rss_mib"],
        "connector_calls_per_wall_second": run_json["connector_calls_per_wall_second"],
        "bare_mock_transport_calls_per_second": round(mock_rate),
        "ratio_to_bare_transport": round(run_json["connector_calls_per_wall_second"] / mock_rate, 3),
        "wall_budget_seconds": round(budget, 1),
    })
    assert kpis["reconciliation"]["mismatches"] == 0
    assert run_json["wall_seconds"] <= budget, benchmark.extra_info
    assert run_json["peak_rss_mib"] <= P1_PEAK_RSS_MIB, benchmark.extra_info
