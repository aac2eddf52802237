"""The suite certifies a black-box connector: ``pytest conformance/ --connector-cmd CMD``.

The connector is a process started under the black-box contract; every
scenario is served over real HTTP and judged by the same checks and the same
oracle as in process. What this shows:

- bad options and bad manifests are one-line usage errors;
- planted defects run as processes (the reference's shell,
  ``python -m reference_impl MODULE:build``, serves any variant) fail their
  requirements: forged webhooks accepted (C2C-SEC-001), state kept in
  memory lost at real kills (C2C-REPLAY-003);
- (``certification``, a CI stage of its own) the reference connector as a
  process is certified ``core``: lost responses, real kills, replays aged
  on the wall clock, throttling, and a real load at the stated rate; and so
  is the Node.js example, for what its manifest declares (time and
  materials: the other billing types are *not applicable*);
- (``thorough``) the reference is certified ``core`` three times in a row,
  the same outcomes each time.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "conformance"
REFERENCE = f"{sys.executable} -m reference_impl"
NODE_EXAMPLE = ROOT / "examples" / "node-connector"


def run_suite(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    report_dir = pytester.path / "report"
    pytester.chdir()
    result = pytester.runpytest_inprocess(str(SUITE), "-p", "no:cacheprovider", "--c2c-report-dir", str(report_dir),
                                          *args)
    return result, json.loads((report_dir / "conformance-report.json").read_text())


def outcomes(report: dict) -> dict[str, str]:
    return {entry["id"]: entry["outcome"] for entry in report["requirements"]}


@pytest.mark.parametrize(("args", "message"), [
    (("--connector-cmd", " "), "--connector-cmd: expected a command line"),
    (("--connector-manifest", "m.json"), "give its --connector-cmd too"),
    (("--connector-cmd", "run-me", "--connector", "tests.subjects.tm_only:build"), "give one"),
    (("--connector-cmd", "run-me", "--connector-manifest", "missing.json"), "cannot read it"),
])
def test_bad_black_box_options_are_one_line_errors(pytester: pytest.Pytester, args: tuple[str, ...],
                                                   message: str) -> None:
    result = pytester.runpytest_inprocess(str(SUITE), "-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str(), result.stderr.str()


@pytest.mark.parametrize(("manifest", "message"), [
    ("not json", "not JSON"),
    ('["webhooks"]', "expected a JSON object"),
    ('{"name": "x", "langauge": "go"}', "unknown field(s) langauge"),
    ('{"capabilities": ["webhooks", "teleport"]}', "unknown capabilities teleport"),
    ('{"capabilities": "webhooks"}', "must be a list of capability names"),
    ('{"version": 2}', "version must be a string"),
])
def test_a_bad_manifest_is_named(pytester: pytest.Pytester, manifest: str, message: str) -> None:
    path = pytester.path / "c2c-connector.json"
    path.write_text(manifest)
    result = pytester.runpytest_inprocess(str(SUITE), "-p", "no:cacheprovider", "--connector-cmd", "run-me",
                                          "--connector-manifest", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str(), result.stderr.str()


def test_collecting_the_suite_starts_no_connector(pytester: pytest.Pytester) -> None:
    """``--collect-only`` lists the requirements; it neither serves a scenario nor starts the connector's process."""
    started = pytester.path / "started"
    result = pytester.runpytest_inprocess(str(SUITE), "-p", "no:cacheprovider", "--collect-only", "-q",
                                          "--connector-cmd", f"sh -c 'touch {started}; exec sleep 30'")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:]
    assert "C2C-LOAD-001" in result.stdout.str()
    time.sleep(5)  # a served run starts its connector within a second or two
    assert not started.exists()


@pytest.mark.parametrize(("variant", "requirement_id", "options"), [
    pytest.param("skips_signature_check", "C2C-SEC-001", (), marks=pytest.mark.slow),
    # a real load, in real time, at 20 approvals a second: a connector taking one webhook a second falls behind
    pytest.param("one_webhook_a_second", "C2C-LOAD-002", ("--load-duration", "15"), marks=pytest.mark.slow),
    # throttled at the firm's peak, it puts charge posts off for its feed poll: the calendar slows for a connector
    # that comes straight back for its tokens (at its own cadence), never for one that waits
    pytest.param("parks_throttled_charges", "C2C-LOAD-001", (), marks=pytest.mark.slow),
    # each restart rereads every feed from the start: minutes of runs
    pytest.param("no_durable_state", "C2C-REPLAY-003", (), marks=pytest.mark.thorough),
])
def test_a_planted_defect_run_as_a_process_fails_its_requirement(pytester: pytest.Pytester, variant: str,
                                                                 requirement_id: str, options: tuple[str, ...]) -> None:
    command = f"PYTHONPATH={ROOT} {REFERENCE} tests.broken_connectors.{variant}:build"  # run from the test's folder
    result, report = run_suite(pytester, "--connector-cmd", command, "-k", requirement_id, *options)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    entry = next(r for r in report["requirements"] if r["id"] == requirement_id)
    assert entry["outcome"] == "fail"
    assert entry["failure"]["findings_total"] > 0, entry["failure"]
    assert any("--connector-cmd" in line for line in entry["failure"]["reproduce"])
    assert report["connector"]["mode"] == "black-box"
    assert report["machine"]["load_average_peak"] is not None  # read after the served run
    assert "- machine: " in (pytester.path / "report" / "conformance-summary.md").read_text()


@pytest.mark.slow
@pytest.mark.certification  # about 5 minutes of served runs: a CI stage of its own
def test_the_reference_as_a_process_is_certified_core(pytester: pytest.Pytester) -> None:
    """``python -m reference_impl``, a process on the black-box contract, passes every core requirement: lost
    responses, real kills and restarts on its state directory, replays aged on the wall clock, throttling, and
    C2C-LOAD-002's real load at the stated rate, which the report states."""
    result, report = run_suite(pytester, "--connector-cmd", REFERENCE)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-4000:]
    assert report["verdicts"]["core"]["certified"], report["verdicts"]
    assert report["connector"]["mode"] == "black-box"
    judged = {outcome for outcome in outcomes(report).values() if outcome != "not-run"}  # full-only: not run in core
    assert judged == {"pass"}, outcomes(report)
    assert report["load"] == {"rate_per_s": 20.0, "duration_s": 30.0, "p95_s": 30.0}
    load = next(r for r in report["requirements"] if r["id"] == "C2C-LOAD-001")
    assert re.search(r"approval-to-charge p95 \d+ min \(bound 60 min\)$", load["measured"]), load  # its margin
    assert report["machine"]["cores"] >= 1 and report["machine"]["load_average_peak"] is not None
    summary = (pytester.path / "report" / "conformance-summary.md").read_text()
    assert "judged at **20 approvals/s** for 30 s" in summary
    folders = list((pytester.path / "report" / "connector").glob("conformance-*"))
    assert folders and all((folder / "connector.stderr.log").is_file() for folder in folders)  # its output is kept
    (crashes,) = [folder for folder in folders if folder.name.startswith("conformance-crashes-")
                  and not folder.name.startswith("conformance-crashes-calm-")]
    assert "--- c2c: start 2 " in (crashes / "connector.stderr.log").read_text()  # it was killed and restarted


@pytest.mark.thorough
def test_the_reference_as_a_process_passes_core_the_same_way_three_times_running(pytester: pytest.Pytester) -> None:
    """Every core requirement, three runs, the same outcomes each time: certified ``core`` each time."""
    runs = []
    for attempt in range(3):
        report_dir = f"report-{attempt}"
        result = pytester.runpytest_inprocess(str(SUITE), "-p", "no:cacheprovider", "--connector-cmd", REFERENCE,
                                              "--c2c-report-dir", report_dir)
        report = json.loads((pytester.path / report_dir / "conformance-report.json").read_text())
        assert result.ret == pytest.ExitCode.OK, (attempt, result.stdout.str()[-4000:])
        assert report["verdicts"]["core"]["certified"], attempt
        runs.append(outcomes(report))
    assert runs.count(runs[0]) == 3


@pytest.mark.slow
@pytest.mark.certification  # about 6 minutes of served runs: after the reference's, in the same CI stage
@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed; the Node example needs node 20")
def test_the_node_example_is_certified_core_for_what_it_declares(pytester: pytest.Pytester) -> None:
    """``node examples/node-connector/connector.js``, plain Node.js with no dependencies, with the manifest
    that declares time and materials only: every core requirement on what it declares passes, the ones on
    capped contracts, milestones and retainers are *not applicable*, and it is certified ``core``."""
    result, report = run_suite(pytester, "--connector-cmd", f"node {NODE_EXAMPLE / 'connector.js'}",
                               "--connector-manifest", str(NODE_EXAMPLE / "c2c-connector.json"))
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-4000:]
    assert report["verdicts"]["core"]["certified"], report["verdicts"]
    assert report["connector"]["mode"] == "black-box"
    assert report["connector"]["capabilities"] == ["durable_state", "webhooks"]
    waived = {rid for rid, outcome in outcomes(report).items() if outcome == "not-applicable"}
    assert waived == {"C2C-BILL-001", "C2C-BILL-004", "C2C-BILL-005"}  # capped, milestones, retainers
    judged = {outcome for rid, outcome in outcomes(report).items() if outcome not in ("not-run", "not-applicable")}
    assert judged == {"pass"}, outcomes(report)
    folders = list((pytester.path / "report" / "connector").glob("conformance-crashes-*"))
    assert any("--- c2c: start 2 " in (folder / "connector.stderr.log").read_text() for folder in folders)
