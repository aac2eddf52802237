"""``c2c simulate`` end to end: deterministic outputs and clean errors.

Runs the CLI in-process with click's CliRunner: the baseline three times
(seed 1 twice, seed 2 once, module-scoped, read by several tests), once
more in a fresh process, and once with a mutant connector. Error cases
stop before simulating and cost nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from simulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def c2c_simulate(scenario: Path, seed: int, out: Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["simulate", str(scenario), "--seed", str(seed), "--out", str(out), "--quiet"],
                              env=env)


def unwrapped(output: str) -> str:
    """The output with the terminal's line wrapping undone (rich keeps the space it wraps at)."""
    return "".join(output.splitlines())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    dirs = {}
    for name, seed in (("first", 1), ("again", 1), ("other", 2)):
        out = tmp_path_factory.mktemp(f"sim-{name}")
        result = c2c_simulate(BASELINE, seed, out)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        dirs[name] = out
    return dirs


# -- determinism ------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_kpis_and_trace(runs: dict[str, Path]) -> None:
    for name in ("kpis.json", "events.jsonl"):
        first, again = (runs["first"] / name).read_bytes(), (runs["again"] / name).read_bytes()
        assert first, f"{name} is empty"
        assert first == again, f"{name} differs between two runs of the same scenario and seed"


def test_same_seed_is_byte_identical_in_a_fresh_process(runs: dict[str, Path], tmp_path: Path) -> None:
    """A reproduction runs in a new process: string hashing (set and dict-of-set order) must not leak into outputs."""
    out = tmp_path / "fresh"
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "simulate", str(BASELINE), "--seed", "1",
                           "--out", str(out), "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("kpis.json", "events.jsonl"):
        assert (out / name).read_bytes() == (runs["first"] / name).read_bytes(), f"{name} differs across processes"


def test_a_different_seed_gives_different_kpis(runs: dict[str, Path]) -> None:
    first = json.loads((runs["first"] / "kpis.json").read_text())
    other = json.loads((runs["other"] / "kpis.json").read_text())
    assert (first["seed"], other["seed"]) == (1, 2)
    del first["seed"], other["seed"]
    assert first != other, "seed 2 reproduced seed 1's KPIs: the seed does not reach the model"
    assert (runs["first"] / "events.jsonl").read_bytes() != (runs["other"] / "events.jsonl").read_bytes()


def test_kpis_json_holds_the_public_fields(runs: dict[str, Path]) -> None:
    kpis = json.loads((runs["first"] / "kpis.json").read_text())
    assert kpis["schema_version"]
    assert kpis["scenario"] == "baseline"
    assert kpis["seed"] == 1
    assert kpis["reconciliation"]["items_checked"] > 0
    assert kpis["reconciliation"]["mismatches"] == 0
    assert kpis["invoices"]["count"] > 0


def test_events_jsonl_is_in_simulated_time_order(runs: dict[str, Path]) -> None:
    records = [json.loads(line) for line in (runs["first"] / "events.jsonl").read_text().splitlines()]
    assert records
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert all(a["t"] <= b["t"] for a, b in zip(records, records[1:], strict=False))
    assert {"api", "webhook", "event"} <= {r["kind"] for r in records}


def test_every_run_writes_mismatches_jsonl_even_when_it_reconciles(runs: dict[str, Path]) -> None:
    for name in ("first", "again"):
        kpis = json.loads((runs[name] / "kpis.json").read_text())
        lines = (runs[name] / "mismatches.jsonl").read_text().splitlines()
        assert len(lines) == kpis["reconciliation"]["mismatches"]  # 0 on the baseline: an empty file
    assert (runs["first"] / "mismatches.jsonl").read_bytes() == (runs["again"] / "mismatches.jsonl").read_bytes()


def test_run_json_holds_the_non_deterministic_facts(runs: dict[str, Path]) -> None:
    run = json.loads((runs["first"] / "run.json").read_text())
    assert run["wall_seconds"] > 0
    assert run["peak_rss_mib"] > 0
    assert run["connector_calls_per_wall_second"] > 0
    versions = run["versions"]
    assert isinstance(versions, dict) and versions.get("python") and versions.get("c2c")


# -- errors ---------------------------------------------------------------------------------


def bad_copy_of_baseline(path: Path, replacements: dict[str, str]) -> dict[str, int]:
    """Write baseline.yaml with the first line starting with each prefix replaced; return each new line's number."""
    lines = BASELINE.read_text().splitlines()
    where = {}
    for prefix, new in replacements.items():
        index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
        lines[index] = new
        where[new] = index + 1
    path.write_text("\n".join(lines) + "\n")
    return where


TYPO = "settle_dayz: 10"
WRONG_TYPE = "  consultants: fifty"


def write_bad_scenario(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "bad_scenario.yaml"
    where = bad_copy_of_baseline(path, {"settle_days:": TYPO, "  consultants:": WRONG_TYPE})
    return path, where


def test_bad_scenario_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    path, where = write_bad_scenario(tmp_path)
    result = c2c_simulate(path, 1, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = unwrapped(result.output)
    assert f"{path} line {where[TYPO]}: settle_dayz" in text, result.output
    assert f"{path} line {where[WRONG_TYPE]}: firm.consultants" in text, result.output
    assert not (tmp_path / "out").exists(), "nothing is written for a scenario that does not load"


# What rich assumes when stdout is not a terminal, as in CI: messages must not be hard-wrapped at this width,
# or paths, "FILE line N: field" and the reproduce command are split across lines.
NARROW_LOG = {"COLUMNS": "80"}


def test_scenario_errors_are_one_line_each_in_a_narrow_log(tmp_path: Path) -> None:
    path, where = write_bad_scenario(tmp_path)
    result = c2c_simulate(path, 1, tmp_path / "out", env=NARROW_LOG)
    assert result.exit_code == 2
    lines = result.output.splitlines()
    for message in (f"{path} line {where[TYPO]}: settle_dayz: Extra inputs are not permitted",
                    f"{path} line {where[WRONG_TYPE]}: firm.consultants: Input should be a valid integer"):
        assert any(message in line for line in lines), f"{message!r} is not on one line of:\n{result.output}"


def test_error_text_is_not_read_as_rich_markup(tmp_path: Path) -> None:
    """Messages and paths hold brackets ("[low, high]", "[5, 2]"); rich must print them, not take them for styles."""
    path = tmp_path / "[reversed] range.yaml"
    where = bad_copy_of_baseline(path, {"  duration_months:": "  duration_months: [5, 2]"})
    result = c2c_simulate(path, 1, tmp_path / "out", env=NARROW_LOG)
    assert result.exit_code == 2, result.output
    message = (f"{path} line {where['  duration_months: [5, 2]']}: contracts.duration_months: "
               "must be [low, high] with low <= high, got [5, 2]")
    assert any(message in line for line in result.output.splitlines()), result.output


def test_unwritable_output_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = c2c_simulate(BASELINE, 1, blocker / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"cannot create output directory {blocker / 'out'}" in unwrapped(result.output), result.output


def test_reproduce_command_is_one_pasteable_line_in_a_narrow_log(tmp_path: Path) -> None:
    """A failing run names its mutant connector by factory path and prints one command that reproduces it."""
    path = tmp_path / "wrong_rate.yaml"
    bad_copy_of_baseline(path, {"connector:": "connector: tests.broken_connectors.wrong_rate:build"})
    out = tmp_path / "out"
    result = c2c_simulate(path, 1, out, env=NARROW_LOG)
    assert "reconciliation mismatches" in unwrapped(result.output), result.output
    assert result.exit_code == 1, "a run that does not reconcile exits 1, after writing every file"
    assert (out / "kpis.json").exists() and (out / "run.json").exists()
    command = f"reproduce with: c2c simulate {path} --seed 1 --out {out}"
    assert any(command in line for line in result.output.splitlines()), result.output


@pytest.mark.parametrize(("connector", "message"), [
    ("no_such_vendor.connector:build", r"cannot import connector module 'no_such_vendor\.connector'"),
    ("reference_impl.connector:no_such_factory", r"'reference_impl\.connector' has no callable 'no_such_factory'"),
])
def test_unknown_connector_factory_is_a_clear_error(tmp_path: Path, connector: str, message: str) -> None:
    path = tmp_path / "unknown_connector.yaml"
    bad_copy_of_baseline(path, {"connector:": f"connector: {connector}"})
    result = c2c_simulate(path, 1, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "crash.txt").exists()
    text = unwrapped(result.output)
    assert "connector" in text and re.search(message, text), result.output


def test_malformed_connector_name_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "malformed_connector.yaml"
    where = bad_copy_of_baseline(path, {"connector:": "connector: reference_impl.connector.build"})
    result = c2c_simulate(path, 1, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = where["connector: reference_impl.connector.build"]
    assert f"{path} line {line}: connector" in unwrapped(result.output), result.output


VENDOR_FACTORIES = '''
import sys


class NoClose:
    def receive(self, delivery):
        return 200


class CloseNotCallable(NoClose):
    close = "later"


def raises(runtime):
    raise RuntimeError("vendor config missing [API_KEY]")


def returns_none(runtime):
    return None


def returns_no_close(runtime):
    return NoClose()


def returns_close_not_callable(runtime):
    return CloseNotCallable()


def exits(runtime):
    sys.exit(0)
'''


@pytest.fixture
def vendor_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A vendor's connector module whose factories fail in the ways a factory can."""
    name = f"vendor_factories_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(VENDOR_FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.mark.parametrize(("factory", "message"), [
    ("raises", r"raised RuntimeError: vendor config missing \[API_KEY\]"),
    ("returns_none", r"returned 'NoneType' without a callable receive or close"),
    ("returns_no_close", r"returned 'NoClose' without a callable close;"),
    ("returns_close_not_callable", r"returned 'CloseNotCallable' without a callable close;"),
    ("exits", r"raised SystemExit"),
])
def test_a_failing_connector_factory_is_a_connector_error_naming_it(tmp_path: Path, vendor_module: str, factory: str,
                                                                     message: str) -> None:
    path = tmp_path / "failing_factory.yaml"
    bad_copy_of_baseline(path, {"connector:": f"connector: {vendor_module}:{factory}"})
    result = c2c_simulate(path, 1, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (tmp_path / "out" / "crash.txt").exists()
    text = unwrapped(result.output)
    assert f"connector: factory {vendor_module}:{factory} " in text, result.output
    assert re.search(message, text), result.output


@pytest.mark.parametrize("out", ["", None], ids=["empty", "default"])
def test_out_must_not_be_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str | None) -> None:
    monkeypatch.chdir(tmp_path)
    path, _ = write_bad_scenario(tmp_path)  # stops before simulating if --out is accepted
    args = ["simulate", str(path), "--quiet"] + ([] if out is None else ["--out", out])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    if out == "":
        assert "--out" in result.output and "must name a directory; got an empty string" in unwrapped(result.output)
    else:
        assert "settle_dayz" in result.output  # without --out, the scenario is read as usual
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(("connector", "message"), [
    (":build", r"':build' is not package\.module:function"),
    ("tests.subjects.raises_on_import:build", r"raised RuntimeError: this module needs the acme SDK configured"),
])
def test_a_bad_connector_option_is_a_clear_error(tmp_path: Path, connector: str, message: str) -> None:
    result = CliRunner().invoke(main, ["simulate", str(ROOT / "tests" / "scenarios" / "tm_only.yaml"), "--quiet",
                                       "--out", str(tmp_path / "out"), "--connector", connector])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and re.search(message, unwrapped(result.output)), result.output
    assert not (tmp_path / "out").exists(), "a bad option writes nothing"


def test_the_connector_option_replaces_the_scenarios_own(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(ROOT / "scenarios" / "baseline.yaml"), "--quiet",
                                       "--out", str(out), "--connector", "tests.broken_connectors.wrong_rate:build"])
    assert result.exit_code == 1, "the planted wrong rate does not reconcile"
    assert "--connector tests.broken_connectors.wrong_rate:build" in json.loads((out / "run.json").read_text())["command"][0]


def test_a_connector_module_is_found_in_the_working_directory_as_the_console_script_runs(tmp_path: Path) -> None:
    """``c2c`` is a console script: Python puts its folder, not the working directory, on the path; the CLI
    looks in the working directory first, as uvicorn does, so a checkout's own modules can be named."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([str(Path(sys.executable).with_name("c2c")), "simulate",
                          str(ROOT / "conformance" / "scenarios" / "small_firm.yaml"), "--quiet", "--out",
                          str(tmp_path / "out"), "--connector", "tests.broken_connectors.wrong_rate:build"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "cannot import" not in run.stderr and run.returncode in (0, 1), run.stderr
    assert (tmp_path / "out" / "kpis.json").is_file()
