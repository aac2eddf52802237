"""Black-box mode: a connector run as its own process, reached over real HTTP, killed for real.

``c2c serve --connector-cmd`` (and the conformance suite's
``--connector-cmd``) start the command with the black-box contract's
variables, wait for ``GET /healthz``, forward every webhook to it, put the
scenario's HTTP faults in front of its requests, and turn every crash the
scenario schedules into a SIGKILL of its process group and a restart on
the same state directory. Its output is kept in the work directory.

The reference connector run this way (``python -m reference_impl``)
loses and duplicates nothing through kills after committed writes, kills
between acknowledging a webhook and doing its work, random crashes and a
30-hour downtime; a variant that writes to the ERP without
``Idempotency-Key`` (``tests/broken_connectors/no_idempotency_keys.py``,
run by the same shell) bills work twice after the same kills (a write
committed just before its process died is written again by the next one),
so the test can fail.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.checks.replay import unfinished_at_a_crash
from conformance.observation import Observation
from simulator.scenario import load_scenario
from simulator.served import run_black_box
from tests.conftest import ROOT

REFERENCE = f"{sys.executable} -m reference_impl"
NO_IDEMPOTENCY_KEYS = f"{sys.executable} -m reference_impl tests.broken_connectors.no_idempotency_keys:build"
SPEED = 1_728_000  # twenty simulated days per wall second


def _crash_scenario(tmp_path: Path) -> Path:
    """The conformance crash scenario's faults on a small firm of two months, so it runs in seconds."""
    path = tmp_path / "crashes.yaml"
    path.write_text(f"""\
extends: {ROOT / 'conformance' / 'scenarios' / 'crashes.yaml'}
name: black-box-crashes
months: 2
firm: {{consultants: 12}}
customers: {{count: 5}}
contracts: {{initial: 6, per_month: 2}}
faults:
  crashes:
    every_hours: [24, 96]
    after_writes: [10, 40, 90, 160]
    after_acks: [8, 30, 60, 100]
    downtime: !replace
      - {{start: 2026-01-24T18:00:00, hours: 30}}
""")
    return path


def _starts(log: Path) -> int:
    return len(re.findall(r"^--- c2c: start \d+ ", log.read_text(), re.MULTILINE))


@pytest.mark.slow
def test_the_reference_as_a_process_loses_and_duplicates_nothing_through_real_kills(tmp_path: Path) -> None:
    scenario = load_scenario(_crash_scenario(tmp_path))
    result = run_black_box(scenario, 1, REFERENCE, tmp_path / "work", speed=SPEED)
    kills = result.fault_counts["process_killed"]
    assert kills >= 6, result.fault_counts
    assert _starts(tmp_path / "work" / "connector.stdout.log") > kills  # each kill point and crash: a new process
    recon = result.reconciliation
    assert recon.items_checked > 100
    assert recon.ok, [m.to_json() for m in recon.mismatches[:5]]
    assert not unfinished_at_a_crash(Observation(tmp_path / "crashes.yaml", 1, result))


@pytest.mark.slow
def test_a_connector_without_idempotency_keys_bills_twice_after_real_kills(tmp_path: Path) -> None:
    scenario = load_scenario(_crash_scenario(tmp_path))
    result = run_black_box(scenario, 1, NO_IDEMPOTENCY_KEYS, tmp_path / "work", speed=SPEED)
    assert result.fault_counts["process_killed"] >= 6
    assert not result.reconciliation.ok


@pytest.mark.slow  # a connector started as a process for a whole served run: in the slow suite, which CI runs
def test_c2c_serve_runs_a_connector_command_and_reconciles(tmp_path: Path) -> None:
    small = ROOT / "conformance" / "scenarios" / "small_firm.yaml"
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "serve", str(small), "--speed", "864000",
                           "--port", "0", "--connector-cmd", REFERENCE, "--work-dir", str(tmp_path / "work")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^reconciliation 0 mismatches of [\d,]+ items checked$", done.stdout, re.MULTILINE)
    assert (tmp_path / "work" / "state" / "reference.sqlite").exists()
    assert _starts(tmp_path / "work" / "connector.stderr.log") == 1
    assert "reference connector on 127.0.0.1:" in (tmp_path / "work" / "connector.stderr.log").read_text()


def test_a_connector_command_that_never_becomes_healthy_is_one_line(tmp_path: Path) -> None:
    small = ROOT / "conformance" / "scenarios" / "small_firm.yaml"
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "serve", str(small), "--port", "0",
                           "--connector-cmd", "echo starting; echo 'no such database' >&2; exit 3",
                           "--work-dir", str(tmp_path / "work")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: connector: connector command exited with status 3 before GET /healthz answered; its stderr ends: "
        "--- c2c: start 1 " + done.stderr.split("--- c2c: start 1 ", 1)[1].split(" ---", 1)[0]
        + " --- | no such database"]


def test_serve_refuses_two_connectors(tmp_path: Path) -> None:
    small = ROOT / "conformance" / "scenarios" / "small_firm.yaml"
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "serve", str(small), "--connector-url",
                           "http://127.0.0.1:9", "--connector-cmd", REFERENCE], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "give one" in done.stderr


def test_a_terminated_serve_leaves_no_connector_running(tmp_path: Path) -> None:
    """SIGTERM (a CI runner's timeout, ``docker stop``) stops ``c2c serve`` as Ctrl-C does: its connector's
    process is stopped too, and the command says so on one line."""
    small = ROOT / "conformance" / "scenarios" / "small_firm.yaml"
    work = tmp_path / "work"
    process = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", str(small), "--speed", "86400",
                                "--port", "0", "--connector-cmd", REFERENCE, "--work-dir", str(work)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # announced once the connector answers its health check
            if "client_id" in line:
                break
        listen = re.search(r"reference connector on (\S+:\d+)", (work / "connector.stderr.log").read_text())[1]
        assert httpx.get(f"http://{listen}/healthz").status_code == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("stopped: interrupted"), stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{listen}/healthz", timeout=2)
