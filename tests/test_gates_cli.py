"""``c2c simulate --gate`` and ``c2c compare --gate``: exit codes 0, 1 and 2, the gate table, the JUnit file.

Each command runs a tiny firm for real (four consultants, one month, two
contracts: well under a second per run); errors in the gates file stop
before anything runs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

from simulator.cli import main
from tests.conftest import ROOT
from tests.test_compare import kpis as compare_kpis

TINY = f"""extends: {ROOT / "tests" / "scenarios" / "small.yaml"}
name: tiny
months: 1
firm: {{consultants: 4}}
customers: {{count: 2}}
contracts: {{initial: 2, per_month: 0}}
"""

PASSING = """kpis:
  - reconciliation.mismatches == 0
  - revenue_leakage.USD <= 0
  - invoices.count >= 1
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(TINY)
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def c2c(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line(output: str) -> str:
    """The output with the terminal's wrapping undone."""
    return "".join(output.splitlines())


def test_gates_that_pass_exit_0_and_write_junit_beside_the_outputs(tiny: Path, tmp_path: Path) -> None:
    gates = write(tmp_path / "gates.yaml", PASSING)
    out = tmp_path / "out"
    result = c2c("simulate", tiny, "--out", out, "--gate", gates)
    assert result.exit_code == 0, result.output
    for name in ("kpis.json", "events.jsonl", "run.json", "mismatches.jsonl", "gates.xml"):
        assert (out / name).is_file(), name
    assert "reconciliation.mismatches == 0" in result.output and "pass" in result.output
    assert f"gates: 3 passed, 0 failed; wrote {out / 'gates.xml'}" in one_line(result.output)
    root = ET.parse(out / "gates.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "0", "0")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["scenario"] == "tiny" and properties["seed"] == "1" and properties["gates"] == str(gates)


def test_a_breached_gate_exits_1_after_every_output_is_written(tiny: Path, tmp_path: Path) -> None:
    gates = write(tmp_path / "gates.yaml", PASSING + "  - invoices.cycle_time_hours.p95 <= 1\n")
    out, junit = tmp_path / "out", tmp_path / "reports" / "junit.xml"
    result = c2c("simulate", tiny, "--out", out, "--gate", gates, "--junit", junit, "--quiet")
    assert result.exit_code == 1, result.output
    p95 = json.loads((out / "kpis.json").read_text())["invoices"]["cycle_time_hours"]["p95"]
    text = one_line(result.output)
    assert f"FAIL {gates} line 5: invoices.cycle_time_hours.p95 is {p95:g}; the gate wants <= 1" in text
    assert "gates: 3 passed, 1 failed" in text and "Traceback" not in text
    assert not (out / "gates.xml").exists() and junit.is_file()  # --junit puts it where it says
    failure = ET.parse(junit).getroot().find("testsuite/testcase[@name='invoices.cycle_time_hours.p95 <= 1']/failure")
    assert failure.get("message") == f"invoices.cycle_time_hours.p95 is {p95:g}; the gate wants <= 1"
    assert (out / "mismatches.jsonl").is_file() and (out / "run.json").is_file()


def test_a_path_the_kpis_lack_exits_2_naming_the_gate(tiny: Path, tmp_path: Path) -> None:
    gates = write(tmp_path / "gates.yaml", PASSING + "  - invoices.cycle_time_hour.p95 <= 400\n")
    out = tmp_path / "out"
    result = c2c("simulate", tiny, "--out", out, "--gate", gates, "--quiet")
    assert result.exit_code == 2, result.output
    text = one_line(result.output)
    assert f"ERROR {gates} line 5: 'invoices.cycle_time_hour.p95 <= 400': invoices has no 'cycle_time_hour'" in text
    assert "Traceback" not in text
    errors = ET.parse(out / "gates.xml").getroot().findall(".//error")
    assert len(errors) == 1 and (out / "kpis.json").is_file()


@pytest.mark.parametrize("gates_text, args, message", [
    ("kpis:\n  - reconciliation.mismatches = 0\n", [], "line 2: kpis[0]: 'reconciliation.mismatches = 0' is not "
                                                       "PATH OP NUMBER"),
    ("compare:\n  - revenue_leakage.USD not worse\n", [], "no kpis: gates for c2c simulate to judge (compare: gates "
                                                          "are for c2c compare)"),
    (None, ["--junit", "x.xml"], "--junit writes the gates' results; give --gate GATES.yaml too"),
    (PASSING, ["--junit", ""], "--junit"),
])
def test_bad_gates_exit_2_before_anything_runs(tiny: Path, tmp_path: Path, gates_text, args, message) -> None:
    out = tmp_path / "out"
    gate_args = ["--gate", write(tmp_path / "g.yaml", gates_text)] if gates_text else []
    result = c2c("simulate", tiny, "--out", out, *gate_args, *args)
    assert result.exit_code == 2, result.output
    assert message in one_line(result.output) and "Traceback" not in result.output
    assert not out.exists()


def test_a_missing_gates_file_exits_2(tiny: Path, tmp_path: Path) -> None:
    result = c2c("simulate", tiny, "--out", tmp_path / "out", "--gate", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "nope.yaml: cannot read gates: No such file or directory" in one_line(result.output)


# -- c2c compare --gate -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def legacy_and_tiny(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A: the tiny firm with the legacy nightly batch; B: the same firm with the reference connector."""
    legacy = tmp_path_factory.mktemp("legacy") / "tiny_legacy.yaml"
    legacy.write_text(TINY.replace("name: tiny", "name: tiny_legacy") + "connector: reference_impl.legacy:build\n")
    return legacy, tiny


def fake_runs(monkeypatch: pytest.MonkeyPatch, mismatches: dict[str, list[int]]) -> None:
    """``--jobs 1`` runs in this process: each scenario's "run" returns KPIs with these mismatches per seed."""

    def run(scenario: Any, seed: int) -> Any:
        return SimpleNamespace(kpis=compare_kpis(seed, mismatches=mismatches[scenario.name][seed - 1]))

    monkeypatch.setattr("simulator.run.simulate", run)


@pytest.mark.parametrize("a, b, code, verdicts", [
    ([5, 7, 6], [0, 1, 0], 0, ("pass", "pass")),   # B better: both pass
    ([3, 1, 2], [1, 4, 2], 1, ("pass", "fail")),   # B − A: -2, 3, 0: not worse, not better
    ([0, 1, 0], [5, 7, 6], 1, ("fail", "fail")),   # B worse
])
def test_compare_gates_judge_b_against_a(legacy_and_tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         a, b, code, verdicts) -> None:
    legacy, modern = legacy_and_tiny
    fake_runs(monkeypatch, {"tiny_legacy": a, "tiny": b})
    gates = write(tmp_path / "gates.yaml", "compare:\n  - reconciliation.mismatches not worse\n"
                                          "  - reconciliation.mismatches better\n")
    out = tmp_path / "cmp" / "compare.json"
    result = c2c("compare", legacy, modern, "--seeds", "3", "--jobs", "1", "--out", out, "--gate", gates)
    assert result.exit_code == code, result.output
    cases = ET.parse(out.parent / "gates.xml").getroot().findall("testsuite/testcase")
    assert tuple("fail" if case.find("failure") is not None else "pass" for case in cases) == verdicts
    text = one_line(result.output)
    assert f"gates: {verdicts.count('pass')} passed, {verdicts.count('fail')} failed" in text
    if code:
        assert f"FAIL {gates} line" in text and "Traceback" not in text


def test_compare_gate_on_a_row_neither_run_has_exits_2_after_writing_the_json(
        legacy_and_tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    legacy, modern = legacy_and_tiny
    fake_runs(monkeypatch, {"tiny_legacy": [1, 2], "tiny": [0, 0]})
    gates = write(tmp_path / "gates.yaml", "compare:\n  - revenue_leakage.EUR not worse\n")
    out = tmp_path / "compare.json"
    result = c2c("compare", legacy, modern, "--seeds", "2", "--jobs", "1", "--out", out, "--gate", gates,
                 "--junit", tmp_path / "j.xml")
    assert result.exit_code == 2, result.output
    assert f"ERROR {gates} line 2: 'revenue_leakage.EUR not worse': this comparison has no row" in one_line(result.output)
    assert out.is_file() and (tmp_path / "j.xml").is_file()


@pytest.mark.slow
def test_compare_gates_on_real_runs(legacy_and_tiny, tmp_path: Path) -> None:
    """The reference connector against the nightly batch on the tiny firm: charges within the hour, not the night."""
    legacy, modern = legacy_and_tiny
    gates = write(tmp_path / "gates.yaml", "compare:\n  - sync_latency.psa_approval_to_erp_charge_hours.p95 better\n"
                                          "  - api_calls.total better, lower is better\n")
    out = tmp_path / "cmp" / "compare.json"
    result = c2c("compare", legacy, modern, "--seeds", "2", "--jobs", "1", "--out", out, "--gate", gates)
    assert result.exit_code == 1, result.output  # the reference makes more API calls than one nightly pass
    cases = ET.parse(out.parent / "gates.xml").getroot().findall("testsuite/testcase")
    assert [case.find("failure") is None for case in cases] == [True, False]
    assert "api_calls.total: B is worse than A" not in one_line(result.output)  # a "better" gate says "not shown better"
    assert "api_calls.total: B is not shown better than A" in one_line(result.output)


@pytest.mark.parametrize("gates_text, args, message", [
    (PASSING, [], "no compare: gates for c2c compare to judge (kpis: gates are for c2c simulate)"),
    ("compare:\n  - reconciliation.mismatches not worse\n", ["--seeds", "1"],
     "needs 2 seeds or more; got --seeds 1"),
    ("compare:\n  - api_calls.total not worse\n", [], "c2c compare gives api_calls.total no direction"),
])
def test_compare_with_bad_gates_exits_2_before_running(legacy_and_tiny, tmp_path: Path, gates_text, args,
                                                       message) -> None:
    legacy, modern = legacy_and_tiny
    out = tmp_path / "compare.json"
    result = c2c("compare", legacy, modern, "--out", out, "--gate", write(tmp_path / "g.yaml", gates_text), *args)
    assert result.exit_code == 2, result.output
    assert message in one_line(result.output) and "Traceback" not in result.output
    assert not out.exists()
