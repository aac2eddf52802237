"""``extends:``: a scenario that states only what differs from another, with errors still pointing at the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_mappings_merge_and_lists_replace(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", f"""extends: {ROOT / 'scenarios' / 'baseline.yaml'}
name: child
firm:
  consultants: 7
faults:
  http:
    - {{kind: timeout, rate: 0.5}}
""")
    scenario, base = load_scenario(child), load_scenario(ROOT / "scenarios" / "baseline.yaml")
    assert scenario.name == "child" and scenario.firm.consultants == 7
    assert scenario.firm.roles == base.firm.roles, "a sibling key of the changed one is inherited"
    assert [rule.kind for rule in scenario.faults.http] == ["timeout"]
    assert scenario.model_copy(update={"name": base.name, "firm": base.firm, "faults": base.faults}) == base


def test_a_relative_base_is_found_next_to_the_file_and_chains(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path, "middle.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nmonths: 1\n")
    leaf = write(tmp_path / "sub", "leaf.yaml", "extends: ../middle.yaml\nname: leaf\n")
    scenario = load_scenario(leaf)
    assert (scenario.name, scenario.months) == ("leaf", 1)


def test_an_error_names_the_file_and_line_the_value_came_from(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", (ROOT / "scenarios" / "baseline.yaml").read_text().replace(
        "consultants: 50", "consultants: -5"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n\nmonths: 0\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(child)
    message = str(error.value)
    assert f"{child} line 3: months:" in message
    line = next(i for i, text in enumerate(base.read_text().splitlines(), 1) if "consultants: -5" in text)
    assert f"{base} line {line}: firm.consultants:" in message


@pytest.mark.parametrize("text, message", [
    ("extends: missing.yaml\n", "cannot read"),
    ("extends: [a.yaml]\n", "must be the path of another scenario file"),
    ("extends: loop.yaml\n", "extends, in the end, this very file"),
])
def test_bad_extends_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "loop.yaml", text)
    with pytest.raises(ScenarioError, match=message) as error:
        load_scenario(path)
    assert str(path) in str(error.value) and "line 1" in str(error.value)
