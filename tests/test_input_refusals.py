"""Each input the fuzz (tests/test_input_fuzz.py, slow) found to crash c2c or to slip through, refused with a
message naming the file and line or the argument, exit code 2, no traceback. Fast: nothing here runs a firm."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from simulator.cli import main
from simulator.gates import GateError, load_gates, parse_gates
from simulator.scenario import ScenarioError, load_scenario, read_yaml
from simulator.scenario.loader import MAX_DEPTH, MAX_VALUES
from simulator.sweep_file import SweepError, load_sweep
from tests.conftest import ROOT

BASELINE = ROOT / "scenarios" / "baseline.yaml"


class Ran(BaseException):
    """Raised where a command would start its run: the input under test was accepted."""


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a value slip through again, the test fails at once instead of serving or loading for real."""
    import multiprocessing

    import simulator.load
    import simulator.run
    import simulator.served

    def ran(*args: object, **kwargs: object) -> None:
        raise Ran

    for module, name in ((simulator.run, "simulate"), (simulator.served, "serve"), (simulator.load, "run_load"),
                         (multiprocessing, "get_context")):
        monkeypatch.setattr(module, name, ran)


def c2c(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def refused(result: Result) -> str:
    """The one error line of a refusal (exit 2, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


# -- files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "line", "byte"), [(b"\xffname: x\n", 1, "0xff"),
                                                    (b"name: x\nmonths: 3\ndescription: caf\xe9\n", 3, "0xe9")])
def test_a_scenario_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path, data: bytes, line: int,
                                                                          byte: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert str(error.value) == f"{path} line {line}: not UTF-8 text (byte {byte}); save the file as UTF-8"


def test_a_base_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_bytes(b"name: \xfe\n")
    (tmp_path / "s.yaml").write_text("extends: base.yaml\n")
    with pytest.raises(ScenarioError, match=r"base.yaml line 1: not UTF-8 text \(byte 0xfe\)"):
        load_scenario(tmp_path / "s.yaml")


@pytest.mark.parametrize(("value", "words"), [
    ("2024-02-30", "'2024-02-30' is not a valid timestamp (day is out of range for month)"),
    ("2024-01-01 00:00:00 +99:00", "'2024-01-01 00:00:00 +99:00' is not a valid timestamp (offset must be"),
    ("!!int x", "'x' is not a valid int (invalid literal"),
    ("!!bool maybe", "'maybe' is not a valid bool"),
    ("!!timestamp x", "'x' is not a valid timestamp"),
    ("9" * 5000, "'99999999999999999999...(5000 characters)' is not a valid int (too many digits)"),
])
def test_a_scalar_its_tag_cannot_read_is_an_error_at_its_line(value: str, words: str) -> None:
    with pytest.raises(ScenarioError) as error:
        read_yaml(f"name: x\nstart: {value}\n", "s.yaml")
    assert str(error.value).startswith(f"s.yaml line 2: start: {words}"), str(error.value)


@pytest.mark.parametrize("text", ["a: " + "[" * 400 + "]" * 400,  # deeper than MAX_DEPTH
                                  "a: " + "{a: " * 5000 + "}" * 5000,  # deeper than Python's recursion limit
                                  "a:\n" + "".join(" " * i + "- \n" for i in range(0, 400, 2))])
def test_nesting_too_deep_is_an_error_not_a_recursion_error(text: str) -> None:
    with pytest.raises(ScenarioError, match=rf"^s.yaml line \d+: .*nested more than {MAX_DEPTH} deep$"):
        read_yaml(text, "s.yaml")


def test_aliases_of_aliases_stop_at_the_value_limit_quickly() -> None:
    bomb = "zz_0: &l0 [lol]\n" + "".join(f"zz_{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match=rf"^s.yaml line \d+: zz_\S+: more than {MAX_VALUES:,} values"):
        read_yaml(bomb, "s.yaml")  # 10^9 values expanded: before the limit, this never finished
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("character", ["\x00", "\x08", "\x1b", "\x96"])
def test_a_character_yaml_forbids_is_named_at_its_line_in_one_line(character: str) -> None:
    with pytest.raises(ScenarioError) as error:
        read_yaml(f"name: x\nmonths: 3\ndescription: a{character}b\n", "s.yaml")
    assert str(error.value) == (f"s.yaml line 3: not valid YAML: the character U+{ord(character):04X} is not "
                                f"allowed in YAML")


def test_extends_naming_a_nul_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text('extends: "a\\0b.yaml"\n')
    with pytest.raises(ScenarioError, match=r"s.yaml line 1: extends: must be the path of another scenario file"):
        load_scenario(tmp_path / "s.yaml")


def test_a_sweep_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_bytes(b"scenario: base.yaml\nseeds: [1]\ngrid: {months: [1, \xff]}\n")
    with pytest.raises(SweepError, match=rf"^{path} line 3: not UTF-8 text \(byte 0xff\)"):
        load_sweep(path)


def _sweep(tmp_path: Path, grid: str) -> Path:
    (tmp_path / "base.yaml").write_text(f"extends: {BASELINE}\n")
    path = tmp_path / "sweep.yaml"
    path.write_text(f"scenario: base.yaml\nseeds: [1]\ngrid:\n{grid}")
    return path


def test_dates_in_a_grid_are_written_as_iso_text_and_validated_as_dates(tmp_path: Path) -> None:
    sweep = load_sweep(_sweep(tmp_path, "  start: [2025-01-01, 2025-02-01]\n"))
    assert [point.values for point in sweep.points] == [(("start", "2025-01-01"),), (("start", "2025-02-01"),)]
    assert [point.scenario.start.isoformat() for point in sweep.points] == ["2025-01-01", "2025-02-01"]


@pytest.mark.parametrize("values", ["[!!binary aGVsbG8=]", "[[1, !!binary aGVsbG8=]]"])
def test_a_grid_value_json_cannot_hold_is_refused_at_the_grid(tmp_path: Path, values: str) -> None:
    path = _sweep(tmp_path, f"  name: {values}\n")
    with pytest.raises(SweepError, match=rf"^{path} line 3: grid: name: a value must be a number, text.*not bytes"):
        load_sweep(path)


def test_a_gates_file_nested_too_deep_or_with_a_forbidden_character_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(GateError, match=rf"^g.yaml line 2: nested more than {MAX_DEPTH} deep$"):
        parse_gates("kpis:\n  - " + "{a: " * 5000 + "}" * 5000 + "\n", "g.yaml")
    with pytest.raises(GateError, match=r"^g.yaml line 2: not valid YAML: the character U\+0007 is not allowed"):
        parse_gates("kpis:\n  - a == 1\x07\n", "g.yaml")
    path = tmp_path / "g.yaml"
    path.write_bytes(b"kpis:\n  - a == \xff\n")
    with pytest.raises(GateError, match=rf"^{path} line 2: not UTF-8 text \(byte 0xff\)"):
        load_gates(path)


# -- command-line arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["simulate", ""], ["serve", ""], ["load", ""], ["compare", "", str(BASELINE)],
                                  ["compare", str(BASELINE), ""], ["sweep", ""], ["report", ""], ["openapi", ""],
                                  ["simulate", str(BASELINE), "--gate", ""],
                                  ["serve", str(BASELINE), "--connector-cmd", "true", "--work-dir", ""]])
def test_an_empty_path_is_refused_not_read_as_the_working_directory(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    message = refused(c2c(*args))
    assert "got an empty string" in message
    assert not list(tmp_path.iterdir())  # c2c openapi '' wrote four documents here


@pytest.mark.parametrize(("option", "value"), [("--speed", "nan"), ("--speed", "NaN")])
def test_serve_refuses_a_speed_that_is_not_a_number(option: str, value: str) -> None:
    assert f"Invalid value for '{option}': nan is not a finite number" in refused(c2c("serve", str(BASELINE), option,
                                                                                      value))


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--rate", "nan", "nan is not a finite number"), ("--rate", "inf", "inf is not a finite number"),
    ("--spawn-rate", "inf", "inf is not a finite number"), ("--step-rate", "nan", "nan is not a finite number"),
    ("--duration", "9" * 400, "is longer than any load can last"),
    ("--drain", "9" * 400, "is longer than any load can last"),
    ("--connector-cmd", " ", "must be a command line; got an empty string"),
    ("--master-bind", "", "must be HOST:PORT, e.g. 0.0.0.0:5557; got an empty string"),
])
def test_load_refuses_values_that_slipped_through(option: str, value: str, words: str) -> None:
    message = refused(c2c("load", str(BASELINE), option, value))
    assert f"Invalid value for '{option}'" in message and words in message


@pytest.mark.parametrize("url", ["http://[::1", "http://h:99999", "http://h:x", "http://h:0"])
def test_serve_refuses_a_connector_url_whose_host_or_port_is_broken(url: str) -> None:
    assert f"{url!r} is not an http(s) URL with a host" in refused(c2c("serve", str(BASELINE), "--connector-url", url))


def test_serve_refuses_an_empty_connector_command() -> None:
    assert "must be a command line; got an empty string" in refused(c2c("serve", str(BASELINE), "--connector-cmd", ""))


def test_compare_refuses_more_seeds_than_it_could_ever_run() -> None:
    # 99,999,999,999 seeds made a list of 2 x 10^11 runs before anything else: a MemoryError
    message = refused(c2c("compare", str(BASELINE), str(BASELINE), "--seeds", "99999999999"))
    assert "Invalid value for '--seeds': 99999999999 is not in the range 1<=x<=50000" in message
