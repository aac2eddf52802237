"""Sweep files: the grid's points, overrides applied to the base scenario, and errors that name file, line, field
and point."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.scenario import load_scenario
from simulator.sweep_file import SweepError, load_sweep, parse_path, scenario_hash
from simulator.sweep_store import RunStore
from tests.conftest import ROOT

SMALL = ROOT / "tests" / "scenarios" / "small.yaml"
EVENT_DRIVEN = ROOT / "scenarios" / "event_driven.yaml"


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(SweepError) as caught:
        load_sweep(path)
    return str(caught.value)


def test_the_shipped_sweep_is_a_grid_of_fifteen_points_in_order() -> None:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "approval_delay.yaml")
    assert sweep.name == "approval_delay" and sweep.seeds == (1, 2, 3) and sweep.runs == 45
    assert [point.id for point in sweep.points] == [f"p{n:02d}" for n in range(1, 16)]
    # the first axis varies slowest
    assert [dict(point.values)["faults.http[0].rate"] for point in sweep.points[:4]] == [0.0, 0.03, 0.1, 0.0]
    last = sweep.points[-1]
    assert last.scenario.people.approval_delay_hours == (96.0, 144.0)
    assert last.scenario.faults.http[0].kind == "server_error" and last.scenario.faults.http[0].rate == 0.1
    base = load_scenario(EVENT_DRIVEN)
    # everything else is the base's: the other fault rules, the outages, the firm
    assert last.scenario.faults.http[1:] == base.faults.http[1:]
    assert last.scenario.faults.outages == base.faults.outages and last.scenario.firm == base.firm
    assert len({point.scenario_hash for point in sweep.points}) == 15


def test_seeds_as_a_list_or_a_count_from_a_first(tmp_path: Path) -> None:
    listed = write(tmp_path, f"scenario: {SMALL}\nseeds: [7, 3]\ngrid: {{months: [1]}}\n")
    assert load_sweep(listed).seeds == (7, 3)
    counted = write(tmp_path, f"scenario: {SMALL}\nseeds: {{count: 3, first: 10}}\ngrid: {{months: [1]}}\n")
    assert load_sweep(counted).seeds == (10, 11, 12)
    assert load_sweep(counted).name == "sweep"  # the file's stem when the sweep has no name


def test_the_base_is_relative_to_the_sweep_file_and_extends_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.yaml").write_text(f"extends: {SMALL}\nname: child\nmonths: 1\n")
    path = write(tmp_path, "scenario: sub/child.yaml\nseeds: [1]\ngrid: {people.rejection_rate: [0.0, 0.2]}\n")
    sweep = load_sweep(path)
    assert [point.scenario.name for point in sweep.points] == ["child", "child"]
    assert [point.scenario.months for point in sweep.points] == [1, 1]  # the child's, over the base's 2
    assert [point.scenario.people.rejection_rate for point in sweep.points] == [0.0, 0.2]
    assert sweep.points[0].scenario.firm.consultants == 12  # from small.yaml


def test_overrides_index_lists_create_missing_keys_and_replace_mappings_whole(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
scenario: {EVENT_DRIVEN}
seeds: [1]
grid:
  faults.http[2].rate: [0.5]
  faults.rate_limits.psa: [{{per_second: 3, burst: 4}}]
  faults.rate_limits.erp: [{{per_second: 9, burst: 9}}]
  connector: ["reference_impl.legacy:build"]
""")
    scenario = load_sweep(path).points[0].scenario
    assert scenario.faults.http[2].kind == "lost_response" and scenario.faults.http[2].rate == 0.5
    assert scenario.faults.http[2].systems == ["erp"]  # the rule's other fields stay
    assert scenario.faults.rate_limits["psa"].burst == 4 and scenario.faults.rate_limits["erp"].per_second == 9
    assert scenario.connector == "reference_impl.legacy:build"


def test_paths_are_parsed_into_keys_and_indices() -> None:
    assert parse_path("faults.http[0].rate") == ("faults", "http", 0, "rate")
    assert parse_path("connector") == ("connector",)
    assert parse_path("a[1][2].b") == ("a", 1, 2, "b")


def test_equal_scenarios_hash_equal_however_written(tmp_path: Path) -> None:
    path = write(tmp_path, f"scenario: {SMALL}\nseeds: [1]\ngrid: {{people.rejection_rate: [0.05, 0.050000]}}\n")
    with pytest.raises(SweepError, match="given twice"):  # the same value twice is refused as written...
        load_sweep(path)
    path = write(tmp_path, f"scenario: {SMALL}\nseeds: [1]\ngrid: {{people.rejection_rate: [0.05, 0.06]}}\n")
    first, second = load_sweep(path).points
    assert first.scenario_hash != second.scenario_hash
    assert first.scenario_hash == scenario_hash(load_scenario(SMALL))  # small.yaml's rejection rate is the default 0.05


def test_a_points_scenario_written_out_reloads_to_the_same_hash(tmp_path: Path) -> None:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "approval_delay.yaml")
    store = RunStore(tmp_path)
    for point in sweep.points[::7]:
        written = store.save_scenario(point)
        assert scenario_hash(load_scenario(written)) == point.scenario_hash


# -- errors ------------------------------------------------------------------------------------------


def test_a_bad_value_names_the_sweep_file_line_field_and_point(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
scenario: {SMALL}
seeds: [1]
grid:
  people.approval_delay_hours: [[24, 72],
                                [96, 24]]
""")
    assert error_of(path) == (f"{path} line 5: people.approval_delay_hours: must be [low, high] with low <= high, "
                              f"got [96.0, 24.0] (point p02: people.approval_delay_hours=[96, 24])")


def test_a_misspelt_field_in_a_path_or_inside_a_value_points_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
scenario: {EVENT_DRIVEN}
seeds: [1]
grid:
  people.aproval_delay_hours: [[1, 2]]
  faults.http[0]:
    - kind: server_error
      rate: 2
""")
    point = 'point p01: people.aproval_delay_hours=[1, 2], faults.http[0]={"kind": "server_error", "rate": 2}'
    assert error_of(path).splitlines() == [
        f"{path} line 4: people.aproval_delay_hours: Extra inputs are not permitted ({point})",
        f"{path} line 7: faults.http.0.rate: Input should be less than or equal to 1 ({point})",
    ]


def test_an_error_the_override_does_not_cause_points_at_the_base_file(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(f"extends: {SMALL}\nsettle_days: 2\n")
    path = write(tmp_path, "scenario: base.yaml\nseeds: [1]\ngrid: {drain_days: [1, 5]}\n")
    message = error_of(path)
    assert message.startswith(f"{path} line 3: drain_days: must not exceed settle_days (2)")
    assert message.endswith("(point p02: drain_days=5)")


@pytest.mark.parametrize("grid, message", [
    ("faults.http[7].rate: [0.1]",
     "grid.faults.http[7].rate: the base scenario's faults.http has 5 items, so there is no faults.http[7]"),
    ("faults.http.rate: [0.1]", "grid.faults.http.rate: faults.http is not a mapping in the base scenario"),
    ("months[0]: [1]", "grid.months[0]: months is not a list in the base scenario"),
])
def test_a_path_the_base_cannot_follow(tmp_path: Path, grid: str, message: str) -> None:
    path = write(tmp_path, f"scenario: {EVENT_DRIVEN}\nseeds: [1]\ngrid:\n  {grid}\n")
    assert error_of(path) == f"{path} line 4: {message}"


@pytest.mark.parametrize("body, message", [
    ("seeds: [1]\ngrid: {months: [1]}\n", "line 1: scenario: Field required"),
    ("scenario: S\nseeds: [1, 1]\ngrid: {months: [1]}\n", "line 2: seeds: seed 1 is listed twice"),
    ("scenario: S\nseeds: []\ngrid: {months: [1]}\n", "line 2: seeds: must list at least one seed"),
    ("scenario: S\nseeds: [true]\ngrid: {months: [1]}\n", "line 2: seeds.0: must be a number, not the boolean true"),
    ("scenario: S\nseeds: {count: 0}\ngrid: {months: [1]}\n", "line 2: seeds.count: Input should be greater than"),
    ("scenario: S\nseeds: {count: 2, frist: 1}\ngrid: {months: [1]}\n", "line 2: seeds.frist: Extra inputs"),
    ("scenario: S\nseeds: [1]\ngrid: {}\n", "line 3: grid: Dictionary should have at least 1 item"),
    ("scenario: S\nseeds: [1]\ngrid: {months: []}\n", "line 3: grid: months: give at least one value"),
    ("scenario: S\nseeds: [1]\ngrid: {months: [1, 1]}\n", "line 3: grid: months: the value 1 is given twice"),
    ("scenario: S\nseeds: [1]\ngrid: {faults..http: [1]}\n", "line 3: grid: 'faults..http' is not a dotted path"),
    ("scenario: S\nseeds: [1]\ngrid: {months: [1]}\ntable: [dso]\n", "line 4: table: unknown KPI 'dso'"),
    ("scenario: S\nseeds: [1]\ngrid: {months: [1]}\ncolour: red\n", "line 4: colour: Extra inputs are not permitted"),
    ("scenario: S\nseeds: [1]\nseeds: [2]\ngrid: {months: [1]}\n", "line 3: seeds: duplicated key 'seeds'"),
    ("scenario: S\nseeds: [1\n", "line 3: not valid YAML"),
    ("- scenario\n", "line 1: a sweep file must be a mapping of fields"),
    ("scenario: missing.yaml\nseeds: [1]\ngrid: {months: [1]}\n", "line 1: scenario: "),
    ("scenario: S\nseeds: {count: 1000}\ngrid: {months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], settle_days: [0, 1, 2, 3, 4, 5,"
     " 6, 7, 8, 9, 10]}\n", "line 3: grid: 110 points × 1000 seeds is 110,000 runs; at most 100,000"),
])
def test_a_bad_sweep_file_is_one_precise_message(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body.replace("scenario: S", f"scenario: {SMALL}"))
    assert error_of(path).startswith(f"{path} {message}")


def test_an_unreadable_sweep_file(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: cannot read sweep file: No such file or directory"


def test_the_command_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, f"scenario: {SMALL}\nseeds: [1]\ngrid:\n  contracts.per_month: [1, -3]\n")
    result = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {path} line 4: contracts.per_month: Input should be greater than or "
                                      f"equal to 0 (point p02: contracts.per_month=-3)")
    assert not (tmp_path / "out").exists()  # nothing written for a sweep that cannot run
