"""c2c load: bad arguments are one clear line and exit 2; a real load run (slow) reconciles after the load.

The slow tests run the whole thing for real: the systems on uvicorn, the
reference connector as a process, locust headless as a subprocess (never
imported here), the oracle at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from mocks.core.clock import iso
from simulator.cli import main
from simulator.load import opening
from simulator.locust_run import free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "load_test.yaml"


@pytest.mark.parametrize("arguments, message", [
    (["--duration", "soon"], "'soon' is not a duration; write e.g. 60s, 2m or 1h30m"),
    (["--duration", "0s"], "'0s' is shorter than a second"),
    (["--users", "0"], "0 is not in the range x>=1"),
    (["--profile", "ramp"], "'ramp' is not one of 'steady', 'step'"),
    (["--locustfile", "no/such/file.py"], "File 'no/such/file.py' does not exist"),
])
def test_bad_arguments_are_named(arguments, message):
    result = CliRunner().invoke(main, ["load", str(SCENARIO), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_window_opens_on_a_working_day_inside_the_calendar():
    scenario = SimpleNamespace(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 1))
    assert iso(opening(scenario, 19)) == "2026-01-20T10:00:00Z"  # a Tuesday
    assert iso(opening(scenario, 16)) == "2026-01-19T10:00:00Z"  # Saturday the 17th: the Monday after
    with pytest.raises(ValueError, match="after the scenario's calendar ends"):
        opening(scenario, 31)


def _load(tmp_path: Path, *arguments: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "load"
    command = [sys.executable, "-m", "simulator.cli", "load", str(SCENARIO), "--out", str(out), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200"})
    report = json.loads((out / "load.json").read_text()) if (out / "load.json").exists() else {}
    return done, report


@pytest.mark.slow
def test_the_reference_reconciles_after_a_load_run(tmp_path: Path):
    done, report = _load(tmp_path, "--users", "20", "--spawn-rate", "20", "--duration", "20s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    locust = report["locust"]
    assert locust["requests"] > 300
    assert locust["failures"] == 0  # no fault is injected: every failure is a failure
    assert report["reconciliation"] == {"items_checked": report["reconciliation"]["items_checked"], "mismatches": 0}
    lag = report["approval_to_charge_lag"]
    assert lag["approvals"] > 50 and lag["missing"] == 0
    assert lag["p50_s"] is not None and lag["p95_s"] is not None and lag["p99_s"] is not None
    assert len(lag["growth"]) == 6
    assert report["verdict"] == "pass"
    out = tmp_path / "load"
    for written in ("locust_stats.csv", "locust.html", "kpis.json", "mismatches.jsonl", "events.jsonl"):
        assert (out / written).exists(), written
    assert "reconciled: 0 mismatches" in done.stdout


@pytest.mark.slow
def test_a_distributed_load_counts_the_workers_requests(tmp_path: Path):
    """1 master, 2 workers: one c2c load starts on loopback, one started by hand from the command c2c load prints
    for another machine (run here, with HOST = 127.0.0.1)."""
    out = tmp_path / "load"
    port = str(free_port())
    command = [sys.executable, "-m", "simulator.cli", "load", str(SCENARIO), "--out", str(out), "--users", "14",
               "--spawn-rate", "14", "--duration", "15s", "--workers", "1", "--remote-workers", "1",
               "--master-bind", f"127.0.0.1:{port}"]
    load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "300"})
    printed, worker = [], None
    try:
        for line in load.stdout:
            printed.append(line)
            if " --worker --master-host HOST " in line:
                remote = line.strip().replace("HOST", "127.0.0.1").replace(" locust ", f" {sys.executable} -m locust ")
                worker = subprocess.Popen(["bash", "-c", remote], cwd=ROOT, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        assert load.wait(timeout=600) == 0, "".join(printed)[-3000:]
    finally:
        load.kill()
        if worker is not None:
            worker.kill()
    assert worker is not None, "".join(printed)
    report = json.loads((out / "load.json").read_text())
    master = (out / "locust.master.log").read_text()
    assert "2 workers connected" in master, master[-2000:]
    assert report["locust"]["requests"] > 100 and report["locust"]["failures"] == 0
    assert report["reconciliation"]["mismatches"] == 0
    assert report["approval_to_charge_lag"]["approvals"] > 20
