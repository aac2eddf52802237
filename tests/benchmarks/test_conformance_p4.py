"""P4 (performance target): ``pytest conformance/`` on the core profile in at most 3 minutes.

Runs the suite as a vendor does, in a fresh process, against the reference
connector. A bare ``httpx.MockTransport`` loop is timed in the same run
and recorded beside the wall time, so a slow machine can be told apart
from a slow suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.benchmarks.test_simulation_speed import bare_loop_rate
from tests.conftest import ROOT

pytestmark = pytest.mark.benchmark_suite

P4_WALL_SECONDS = 180.0


def test_core_profile_meets_p4(benchmark, tmp_path) -> None:
    mock_rate = bare_loop_rate()

    def run() -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "conformance"), "-q", "-p", "no:cacheprovider",
                        "--c2c-report-dir", str(tmp_path)], check=True, cwd=ROOT, capture_output=True)
        return time.perf_counter() - started

    wall = benchmark.pedantic(run, rounds=1, iterations=1)
    report = json.loads((tmp_path / "conformance-report.json").read_text())
    benchmark.extra_info.update({"wall_seconds": round(wall, 1), "bare_mock_transport_calls_per_second": round(mock_rate),
                                 "requirements": len(report["requirements"])})
    assert report["verdicts"]["core"]["certified"]
    assert wall <= P4_WALL_SECONDS, benchmark.extra_info
