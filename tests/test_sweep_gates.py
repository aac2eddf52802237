"""``c2c sweep --gate``: every run of every point judged by the gates file's kpis: thresholds, JUnit per gate and run.

As in tests/test_sweep_cli.py, a recording fake stands in for the simulation (``--jobs 1`` runs in this process):
the fake's KPIs are known, so which run breaches which gate is known.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from simulator.sweep_file import load_sweep
from tests.test_sweep_cli import RESULTS, FakeSimulate, sweep, sweep_file


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeSimulate:
    recorder = FakeSimulate()
    monkeypatch.setattr("simulator.run.simulate", recorder)
    return recorder


def gates_file(directory: Path, text: str) -> Path:
    path = directory / "gates.yaml"
    path.write_text(text)
    return path


def cases(junit: Path) -> list[ET.Element]:
    return list(ET.parse(junit).getroot().iter("testcase"))


def test_every_run_meeting_every_gate_exits_0_with_a_case_per_gate_and_run(tmp_path: Path, fake: FakeSimulate) -> None:
    # the fake's mismatches are the approval delay's low end + the seed: 3 at most for the [2, 24] point
    gates = gates_file(tmp_path, "kpis:\n  - reconciliation.mismatches <= 50\n  - invoices.count == 5\n")
    out = tmp_path / "out"
    result = sweep(str(sweep_file(tmp_path)), "--jobs", "1", "--out", str(out), "--gate", str(gates))
    assert result.exit_code == 0, result.output
    assert "gates: 4 of 4 runs met every gate; wrote " in result.output
    junit = cases(out / "gates.xml")
    assert len(junit) == 2 * 4 and not any(case.find("failure") is not None for case in junit)
    assert junit[0].get("classname") == "c2c.sweep.tiny.p01"
    assert junit[0].get("name") == "reconciliation.mismatches <= 50 (seed 1)"
    assert (junit[0].get("file"), junit[0].get("line")) == (str(gates), "2")


def test_a_run_that_breaches_a_gate_exits_1_after_writing_everything(tmp_path: Path, fake: FakeSimulate) -> None:
    path = sweep_file(tmp_path)
    gates = gates_file(tmp_path, "kpis:\n  - reconciliation.mismatches <= 49\n")
    out, junit = tmp_path / "out", tmp_path / "ci" / "sweep.xml"
    result = sweep(str(path), "--jobs", "1", "--out", str(out), "--gate", str(gates), "--junit", str(junit))
    assert result.exit_code == 1, result.output
    assert all((out / name).exists() for name in RESULTS)
    p02 = load_sweep(path).points[1]  # approval delay [48, 96]: 48 + seed 2 = 50 mismatches
    text = "".join(result.output.splitlines())
    assert (f"FAIL {gates} line 2: point p02 seed 2: reconciliation.mismatches is 50; the gate wants <= 49; "
            f"reproduce with: c2c simulate {out / 'scenarios' / (p02.scenario_hash[:12] + '.yaml')} --seed 2") in text
    assert "gates: 3 of 4 runs met every gate; 1 breach; wrote " in text
    failed = [case for case in cases(junit) if case.find("failure") is not None]
    assert [(case.get("classname"), case.get("name")) for case in failed] == [
        ("c2c.sweep.tiny.p02", "reconciliation.mismatches <= 49 (seed 2)")]
    assert "point p02: people.approval_delay_hours=[48, 96], months=1" in failed[0].find("failure").text


def test_a_gate_the_kpis_cannot_answer_is_exit_2(tmp_path: Path, fake: FakeSimulate) -> None:
    gates = gates_file(tmp_path, "kpis:\n  - reconciliation.mismatchez == 0\n")
    result = sweep(str(sweep_file(tmp_path)), "--jobs", "1", "--out", str(tmp_path / "out"), "--gate", str(gates))
    assert result.exit_code == 2, result.output
    assert f"ERROR {gates} line 2: 'reconciliation.mismatchez == 0'" in "".join(result.output.splitlines())


@pytest.mark.parametrize("gates_text, extra, message", [
    ("kpis:\n  - reconciliation.mismatches === 0\n", [], "line 2"),
    ("compare:\n  - revenue_leakage.USD not worse\n", [], "no kpis: gates for c2c sweep to judge"),
    (None, ["--junit", "x.xml"], "--junit writes the gates' results; give --gate GATES.yaml too"),
])
def test_bad_gates_stop_before_anything_runs(tmp_path: Path, fake: FakeSimulate, gates_text: str | None,
                                             extra: list[str], message: str) -> None:
    args = ["--gate", str(gates_file(tmp_path, gates_text))] if gates_text else []
    result = sweep(str(sweep_file(tmp_path)), "--jobs", "1", "--out", str(tmp_path / "out"), *args, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output and fake.calls == [] and not (tmp_path / "out").exists()


def test_the_shipped_sweep_gates_judge_the_books() -> None:
    from simulator.gates import load_gates
    from tests.conftest import ROOT

    gates = load_gates(ROOT / "scenarios" / "sweeps" / "gates.yaml")
    assert [gate.text for gate in gates.thresholds][:1] == ["reconciliation.mismatches == 0"]
    assert not gates.judgements
