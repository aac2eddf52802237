"""``extends:``: a scenario that states only what differs from another, with errors still pointing at the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import Replace, ScenarioError, dump_scenario, load_scenario

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


def test_a_mapping_tagged_replace_takes_the_base_mappings_place(tmp_path: Path) -> None:
    base = ROOT / "conformance" / "scenarios" / "billing.yaml"
    assert len(load_scenario(base).contracts.billing_types) == 4
    merged = write(tmp_path, "merged.yaml", f"extends: {base}\ncontracts:\n  billing_types: {{retainer: 1}}\n")
    replaced = write(tmp_path, "replaced.yaml",
                     f"extends: {base}\ncontracts:\n  billing_types: !replace {{retainer: 1}}\n")
    assert len(load_scenario(merged).contracts.billing_types) == 4, "untagged, a mapping merges key by key"
    scenario = load_scenario(replaced)
    assert scenario.contracts.billing_types == {"retainer": 1.0}
    assert scenario.contracts.initial == load_scenario(base).contracts.initial, "its siblings still merge"


def test_dump_scenario_writes_replace_so_it_reads_back(tmp_path: Path) -> None:
    base = ROOT / "conformance" / "scenarios" / "billing.yaml"
    text = dump_scenario({"extends": str(base), "contracts": {"billing_types": Replace({"time_and_materials": 0.3})}})
    assert "billing_types: !replace" in text
    assert load_scenario(write(tmp_path, "child.yaml", text)).contracts.billing_types == {"time_and_materials": 0.3}


def test_an_unknown_tag_on_a_mapping_is_an_error_not_a_silent_merge(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
                                        "contracts:\n  billing_types: !replce {retainer: 1}\n")
    with pytest.raises(ScenarioError, match=r"line 3: contracts.billing_types: unknown tag '!replce'"):
        load_scenario(path)
