"""P6 (performance target): end to end over HTTP under locust, the reference connector keeps up with 100
approvals a second on this 2-core machine, lag p95 under 5 s, 0 mismatches after the run; and where the lag
starts to grow (the knee), read on a step profile.

Each is one ``c2c load`` run, as a user runs it (a fresh process; locust headless as its subprocess; the
reference connector as a process): the figures are read from its ``load.json`` and kept in the benchmark's
``extra_info``. One run shares two cores between the load generator, the served systems and the connector, so
the rate is what this machine sustains end to end, not the connector alone, and what else runs moves it. Measured
with --rate 100 for 20 s: 104.7-106.3 approvals/s, p50 1 s, p95 1 s, p99 2 s, 0 mismatches, at load averages of
4.6-6; 100.4-105.2/s, p95 1-2 s at load averages of 7-8 (one run, at 5.4-6.9, had a p95 of 4 s). The step profile's
knee: 158 approvals/s at a load average of 6-7, 196/s (no step past a p95 of 5 s) at 3.6-5.5. The lag's floor is a
second: the systems send each webhook a second after the event. Run them on a quiet machine,
``pytest -m "benchmark_suite and thorough" --benchmark-enable tests/benchmarks/test_load_p6.py``. CI's slow suite
holds a shorter load to correctness (tests/load/test_load_command.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

P6_RATE = 100.0  # approvals a second
P6_P95_S = 5.0
REACHED = 0.95  # locust paces the consultants to the rate; the approvals follow within a manager's poll


def load(out: Path, *arguments: str) -> dict:
    subprocess.run([sys.executable, "-m", "simulator.cli", "load", "scenarios/load_test.yaml", "--out", str(out),
                    *arguments], check=True, cwd=ROOT, capture_output=True, timeout=900)
    return json.loads((out / "load.json").read_text())


@pytest.mark.benchmark_suite
@pytest.mark.thorough  # a rate measured end to end needs the machine to itself: before a release, not in every CI run
def test_the_reference_keeps_up_with_100_approvals_a_second(benchmark, tmp_path: Path) -> None:
    report = benchmark.pedantic(lambda: load(tmp_path / "steady", "--rate", str(P6_RATE), "--duration", "20s"),
                                rounds=1, iterations=1)
    lag = report["approval_to_charge_lag"]
    benchmark.extra_info.update({"approvals_per_s": report["approvals_per_s"], "lag_p50_s": lag["p50_s"],
                                 "lag_p95_s": lag["p95_s"], "lag_p99_s": lag["p99_s"],
                                 "locust_requests_per_s": report["locust"]["requests_per_s"],
                                 "mismatches": report["reconciliation"]["mismatches"]})
    assert report["reconciliation"]["mismatches"] == 0, benchmark.extra_info
    assert lag["missing"] == 0, benchmark.extra_info
    assert report["approvals_per_s"] >= REACHED * P6_RATE, benchmark.extra_info
    assert lag["p95_s"] < P6_P95_S, benchmark.extra_info


@pytest.mark.benchmark_suite
@pytest.mark.thorough  # two and a half minutes: the knee is measured before a release, not in every CI run
def test_the_step_profile_finds_the_knee(benchmark, tmp_path: Path) -> None:
    report = benchmark.pedantic(lambda: load(tmp_path / "step", "--profile", "step", "--rate", "200", "--step-rate",
                                             "20", "--step-time", "6s", "--duration", "60s"), rounds=1, iterations=1)
    lag = report["approval_to_charge_lag"]
    benchmark.extra_info.update({"knee_approvals_per_s": lag["knee_approvals_per_s"],
                                 "steps": [(g["approvals_per_s"], g["p95_s"]) for g in lag["growth"]]})
    assert report["reconciliation"]["mismatches"] == 0, benchmark.extra_info
    assert lag["knee_approvals_per_s"] is not None, benchmark.extra_info
