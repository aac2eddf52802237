"""Scenario files: every error names the file, the line and the dotted field path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from simulator.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "what-if.yaml"

MINIMAL = """\
name: minimal
start: 2026-01-01
months: 3
firm:
  consultants: 5
  roles:
    - name: analyst
      share: 1.0
      rates: {USD: "100.00"}
legal_entities:
  - {id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}
customers:
  count: 2
  tax_jurisdictions: {US-NY: "0.08875"}
contracts:
  per_month: 1
  duration_months: [2, 4]
"""


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the scenario"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the one line containing ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, SOURCE)
    return str(info.value)


def assert_points_at(message: str, line: int, path: str) -> None:
    assert f"{SOURCE} line {line}: {path}: " in message, message


# -- valid files --------------------------------------------------------------------------------


def test_minimal_scenario_parses() -> None:
    scenario = parse_scenario(MINIMAL, SOURCE)
    assert isinstance(scenario, Scenario)
    assert scenario.name == "minimal"
    assert scenario.start == dt.date(2026, 1, 1)
    assert scenario.end == dt.date(2026, 4, 1)
    assert scenario.contracts.duration_months == (2, 4)
    assert scenario.people.hours_per_day == (6.0, 9.0)  # defaults fill what the file leaves out
    assert scenario.connector == "reference_impl.connector:build"


def test_baseline_scenario_parses() -> None:
    path = ROOT / "scenarios" / "baseline.yaml"
    scenario = load_scenario(path)
    assert scenario.name == "baseline"
    assert scenario == parse_scenario(path.read_text(), str(path))
    for entity in scenario.legal_entities:
        assert all(entity.currency in role.rates for role in scenario.firm.roles)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_parses(path: Path) -> None:
    load_scenario(path)


# -- unknown keys ---------------------------------------------------------------------------------


def test_unknown_top_level_key() -> None:
    text = MINIMAL + "setle_days: 3\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, "setle_days"), "setle_days")
    assert "Extra inputs are not permitted" in message


def test_unknown_nested_key() -> None:
    text = edit("  per_month: 1", "  per_mnth: 1")
    message = error_of(text)
    assert_points_at(message, line_of(text, "per_mnth"), "contracts.per_mnth")
    assert "Extra inputs are not permitted" in message
    # the typo also leaves the real field missing; that error points at the enclosing block
    assert_points_at(message, line_of(text, "contracts:"), "contracts.per_month")


def test_unknown_key_inside_a_list_item() -> None:
    text = edit("      share: 1.0", "      shar: 1.0")
    message = error_of(text)
    assert_points_at(message, line_of(text, "shar:"), "firm.roles.0.shar")


# -- wrong values ---------------------------------------------------------------------------------


def test_wrong_type_top_level() -> None:
    text = edit("months: 3", "months: three")
    assert_points_at(error_of(text), line_of(text, "months: three"), "months")


def test_wrong_type_nested() -> None:
    text = edit("consultants: 5", "consultants: many")
    message = error_of(text)
    assert_points_at(message, line_of(text, "consultants:"), "firm.consultants")
    assert "valid integer" in message


def test_wrong_type_inside_a_range() -> None:
    text = edit("[2, 4]", "[2, x]")
    assert_points_at(error_of(text), line_of(text, "duration_months"), "contracts.duration_months.1")


def test_negative_count() -> None:
    text = edit("count: 2", "count: -2")
    message = error_of(text)
    assert_points_at(message, line_of(text, "count:"), "customers.count")
    assert "greater than or equal to 1" in message


def test_unknown_currency_of_a_legal_entity() -> None:
    text = edit("currency: USD", "currency: USX")
    message = error_of(text)
    assert_points_at(message, line_of(text, "currency: USX"), "legal_entities.0.currency")
    assert "USX" in message


def test_start_not_on_the_first_of_a_month() -> None:
    text = edit("start: 2026-01-01", "start: 2026-01-15")
    message = error_of(text)
    assert_points_at(message, line_of(text, "start:"), "start")
    assert "first day of a month" in message


REVERSED_RANGES = [
    pytest.param("contracts", "  duration_months: [2, 4]", "  duration_months: [4, 2]", "duration_months", id="contracts"),
    pytest.param("people", None, "people:\n  hours_per_day: [9, 6]\n", "hours_per_day", id="people"),
]


def reversed_range_text(old: str | None, new: str) -> str:
    return MINIMAL + new if old is None else edit(old, new)


@pytest.mark.parametrize(("block", "old", "new", "field"), REVERSED_RANGES)
def test_reversed_range_is_rejected(block: str, old: str | None, new: str, field: str) -> None:
    message = error_of(reversed_range_text(old, new))
    assert field in message
    assert "low <= high" in message


@pytest.mark.xfail(strict=True, reason="range checks are model validators, so the error names the enclosing block's "
                                       "line and path, not the range's (see report)")
@pytest.mark.parametrize(("block", "old", "new", "field"), REVERSED_RANGES)
def test_reversed_range_points_at_the_range(block: str, old: str | None, new: str, field: str) -> None:
    text = reversed_range_text(old, new)
    assert_points_at(error_of(text), line_of(text, field), f"{block}.{field}")


LEGAL_ENTITY_WITHOUT_RATE = edit(
    '  - {id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}\n',
    '  - {id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}\n'
    '  - {id: UK01, name: "c2c UK", currency: GBP, invoice_prefix: UK01}\n',
)


def test_legal_entity_currency_without_role_rate_is_rejected() -> None:
    message = error_of(LEGAL_ENTITY_WITHOUT_RATE)
    assert "'analyst' has no rate in GBP" in message
    assert "UK01" in message


@pytest.mark.xfail(strict=True, reason="the cross-field check is a Scenario model validator: the error says "
                                       "'line 1: (scenario)' (see report)")
def test_legal_entity_currency_without_role_rate_points_at_the_entity_or_role() -> None:
    text = LEGAL_ENTITY_WITHOUT_RATE
    message = error_of(text)
    at_entity = f"{SOURCE} line {line_of(text, 'UK01')}: legal_entities.1.currency: "
    at_role = f"{SOURCE} line {line_of(text, 'rates:')}: firm.roles.0.rates: "
    assert at_entity in message or at_role in message, message


@pytest.mark.xfail(strict=True, reason="PyYAML keeps the last of duplicated keys, so a repeated field silently "
                                       "overrides the first (see report)")
def test_duplicated_key_is_rejected() -> None:
    text = MINIMAL + "months: 4\n"
    with pytest.raises(ScenarioError, match=rf"line {text.count(chr(10))}\b.*months"):
        parse_scenario(text, SOURCE)


# -- not a scenario at all -------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "needle"), [
    pytest.param("  consultants: 5", "  consultants: 5: 6", "consultants", id="mapping-value"),
    pytest.param("  consultants: 5", "\tconsultants: 5", "consultants", id="tab"),
])
def test_invalid_yaml_names_the_line(old: str, new: str, needle: str) -> None:
    text = edit(old, new)
    message = error_of(text)
    assert message.startswith(f"{SOURCE} line {line_of(text, needle)}: not valid YAML"), message


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n"], ids=["empty", "blank", "comment"])
def test_empty_file(text: str) -> None:
    assert error_of(text) == f"{SOURCE}: the file is empty"


def test_top_level_must_be_a_mapping() -> None:
    assert error_of("- name: minimal\n") == f"{SOURCE} line 1: a scenario must be a mapping of fields"


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "no-such-scenario.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert "cannot read scenario" in str(info.value)


def test_load_scenario_reports_errors_with_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(MINIMAL + "setle_days: 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert f"{path} line {line_of(path.read_text(), 'setle_days')}: setle_days: " in str(info.value)
