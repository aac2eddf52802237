"""Scenario files: every error names the file, the line and the dotted field path."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
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


def test_a_drain_longer_than_the_settle_period_names_both_fields() -> None:
    text = MINIMAL + "settle_days: 2\ndrain_days: 5\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, "drain_days"), "drain_days")
    assert "must not exceed settle_days (2)" in message


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
    pytest.param("contracts", None, "  cap_factor: [1.1, 0.6]\n", "cap_factor", id="contracts-cap_factor"),
    pytest.param("people", None, "people:\n  hours_per_day: [9, 6]\n", "hours_per_day", id="people"),
    pytest.param("pipeline", None, "pipeline:\n  win_rate: 0.5\n  stage_days: [12, 2]\n", "stage_days", id="pipeline"),
    pytest.param("amendments", None, "amendments:\n  probability: 0.5\n  extension_months: [3, 1]\n",
                 "extension_months", id="amendments"),
]


def reversed_range_text(old: str | None, new: str) -> str:
    return MINIMAL + new if old is None else edit(old, new)


@pytest.mark.parametrize(("block", "old", "new", "field"), REVERSED_RANGES)
def test_reversed_range_is_rejected(block: str, old: str | None, new: str, field: str) -> None:
    message = error_of(reversed_range_text(old, new))
    assert field in message
    assert "low <= high" in message


@pytest.mark.parametrize(("block", "old", "new", "field"), REVERSED_RANGES)
def test_reversed_range_points_at_the_range(block: str, old: str | None, new: str, field: str) -> None:
    text = reversed_range_text(old, new)
    assert_points_at(error_of(text), line_of(text, field), f"{block}.{field}")


@pytest.mark.parametrize(("old", "new", "path"), [
    pytest.param("  duration_months: [2, 4]", "  duration_months: [0, 4]", "contracts.duration_months.0", id="duration"),
    pytest.param("  per_month: 1", "  per_month: 1\n  milestones: [0, 3]", "contracts.milestones.0", id="milestones"),
    pytest.param("  per_month: 1", "  per_month: 1\n  team_size: [-1, 3]", "contracts.team_size.0", id="team_size"),
])
def test_counts_start_at_one(old: str, new: str, path: str) -> None:
    text = edit(old, new)
    message = error_of(text)
    assert_points_at(message, line_of(text, path.split(".")[1]), path)
    assert "greater than or equal to 1" in message


@pytest.mark.parametrize(("block", "field"), [
    ("pipeline", "stage_days"), ("people", "legal_review_days"), ("people", "approval_delay_hours"),
    ("people", "milestone_approval_days"),
])
def test_negative_delay_is_rejected(block: str, field: str) -> None:
    """A delay is waited out by the simulation, which cannot go back in time."""
    text = MINIMAL + f"{block}:\n  {field}: [-2, 5]\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, field), f"{block}.{field}.0")
    assert "greater than or equal to 0" in message


def test_early_payment_is_a_negative_delay_that_is_allowed() -> None:
    scenario = parse_scenario(MINIMAL + "people:\n  payment_delay_days: [-10, -1]\n", SOURCE)
    assert scenario.people.payment_delay_days == (-10.0, -1.0)


def test_messages_are_ours_without_pydantic_prefix() -> None:
    message = error_of(edit("  duration_months: [2, 4]", "  duration_months: [4, 2]"))
    assert "Value error" not in message
    assert message.endswith("contracts.duration_months: must be [low, high] with low <= high, got [4, 2]"), message


def test_infinity_is_not_a_number() -> None:
    text = edit("  per_month: 1", "  per_month: .inf")
    assert_points_at(error_of(text), line_of(text, "per_month"), "contracts.per_month")


def test_tax_rate_points_at_its_jurisdiction() -> None:
    text = edit('tax_jurisdictions: {US-NY: "0.08875"}', 'tax_jurisdictions:\n    US-NY: "0.08875"\n    US-CA: "7.25"')
    message = error_of(text)
    assert_points_at(message, line_of(text, "US-CA"), "customers.tax_jurisdictions.US-CA")
    assert "fraction in [0, 1), got 7.25" in message


def test_role_rate_must_be_positive() -> None:
    text = edit('rates: {USD: "100.00"}', 'rates: {USD: "0"}')
    assert_points_at(error_of(text), line_of(text, "rates:"), "firm.roles.0.rates.USD")


def test_unknown_currency_of_a_role_rate() -> None:
    text = edit('rates: {USD: "100.00"}', 'rates: {USD: "100.00", USX: "90.00"}')
    message = error_of(text)
    assert_points_at(message, line_of(text, "rates:"), "firm.roles.0.rates.USX")
    assert "unknown currency 'USX'" in message


# -- billing types, pipeline and amendments --------------------------------------------------------------


def test_billing_types_pipeline_and_amendments_parse() -> None:
    text = (MINIMAL + "  billing_types: {time_and_materials: 0.5, capped_tm: 0.2, fixed_fee_milestones: 0.2, retainer: 0.1}\n"
            "  cap_factor: [0.5, 1.0]\n  milestones: [2, 4]\n  retainer_hours_per_month: [30, 90]\n"
            "  expense_markup_pct: [0, 15]\n"
            "pipeline: {win_rate: 0.75, stage_days: [2, 12]}\n"
            "amendments: {probability: 0.45, retro_share: 0.5, rate_change_pct: [-5, 12], extension_months: [1, 3]}\n")
    scenario = parse_scenario(text, SOURCE)
    assert scenario.contracts.billing_types["retainer"] == 0.1
    assert scenario.contracts.milestones == (2, 4)
    assert scenario.pipeline.stage_days == (2.0, 12.0)
    assert scenario.amendments.rate_change_pct == (-5.0, 12.0)


def test_defaults_of_the_new_sections() -> None:
    scenario = parse_scenario(MINIMAL, SOURCE)
    assert scenario.contracts.billing_types == {"time_and_materials": 1.0}
    assert scenario.pipeline.win_rate == 1.0
    assert scenario.amendments.probability == 0.0


def test_unknown_billing_type() -> None:
    text = MINIMAL + "  billing_types: {time_and_materials: 0.5, hourly: 0.5}\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, "billing_types"), "contracts.billing_types")
    assert "unknown billing type 'hourly'" in message
    assert "time_and_materials" in message  # the known ones are listed


def test_negative_billing_weight_points_at_the_weight() -> None:
    text = MINIMAL + "  billing_types:\n    time_and_materials: 1\n    retainer: -0.5\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, "retainer:"), "contracts.billing_types.retainer")
    assert "greater than or equal to 0" in message


def test_billing_mix_needs_a_positive_weight() -> None:
    text = MINIMAL + "  billing_types: {retainer: 0}\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, "billing_types"), "contracts.billing_types")
    assert "positive weight" in message


@pytest.mark.parametrize(("block", "field", "value"), [
    ("amendments", "probability", "1.5"),
    ("amendments", "retro_share", "-0.1"),
    ("pipeline", "win_rate", "2"),
    ("people", "expenses_per_week", "1.01"),
    ("people", "account_updates_per_month", "-1"),
])
def test_probability_outside_zero_to_one(block: str, field: str, value: str) -> None:
    text = MINIMAL + f"{block}:\n  {field}: {value}\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, field), f"{block}.{field}")
    assert "than or equal to" in message


def test_unknown_key_in_amendments() -> None:
    text = MINIMAL + "amendments:\n  probabilty: 0.5\n"
    assert_points_at(error_of(text), line_of(text, "probabilty"), "amendments.probabilty")


def test_wrong_type_of_a_new_range() -> None:
    text = MINIMAL + "  cap_factor: high\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, "cap_factor"), "contracts.cap_factor")
    assert "valid tuple" in message


# -- cross-field checks ------------------------------------------------------------------------------


LEGAL_ENTITY_WITHOUT_RATE = edit(
    '  - {id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}\n',
    '  - {id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}\n'
    '  - {id: UK01, name: "c2c UK", currency: GBP, invoice_prefix: UK01}\n',
)


def test_legal_entity_currency_without_role_rate_is_rejected() -> None:
    message = error_of(LEGAL_ENTITY_WITHOUT_RATE)
    assert "'analyst' has no rate in GBP" in message
    assert "UK01" in message


def test_legal_entity_currency_without_role_rate_points_at_the_entity_or_role() -> None:
    text = LEGAL_ENTITY_WITHOUT_RATE
    message = error_of(text)
    at_entity = f"{SOURCE} line {line_of(text, 'UK01')}: legal_entities.1.currency: "
    at_role = f"{SOURCE} line {line_of(text, 'rates:')}: firm.roles.0.rates: "
    assert at_entity in message or at_role in message, message


def test_duplicated_key_is_rejected() -> None:
    text = MINIMAL + "months: 4\n"
    with pytest.raises(ScenarioError, match=rf"line {text.count(chr(10))}\b.*months"):
        parse_scenario(text, SOURCE)


def test_every_entity_without_rates_is_reported() -> None:
    text = edit('  - {id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}\n',
                '  - {id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}\n'
                '  - {id: UK01, name: "c2c UK", currency: GBP, invoice_prefix: UK01}\n'
                '  - {id: DE01, name: "c2c DE", currency: EUR, invoice_prefix: DE01}\n')
    message = error_of(text)
    assert_points_at(message, line_of(text, "UK01"), "legal_entities.1.currency")
    assert_points_at(message, line_of(text, "DE01"), "legal_entities.2.currency")


def test_duplicated_nested_key_names_both_lines() -> None:
    text = edit("  per_month: 1", "  per_month: 1\n  initial: 2\n  per_month: 3")
    message = error_of(text)
    assert_points_at(message, line_of(text, "per_month: 3"), "contracts.per_month")
    assert f"first given on line {line_of(text, 'per_month: 1')}" in message


def test_duplicated_key_in_a_flow_mapping() -> None:
    text = edit('rates: {USD: "100.00"}', 'rates: {USD: "100.00", USD: "90.00"}')
    assert_points_at(error_of(text), line_of(text, "rates:"), "firm.roles.0.rates.USD")


@pytest.mark.parametrize(("extra", "needle", "words"), [
    pytest.param("description: !custom text\n", "description", "not a plain value", id="unknown-tag"),
    pytest.param("description: !!python/object:os.system echo\n", "description", "not a plain value", id="python-tag"),
    pytest.param("people: &p {hours_per_day: *p}\n", "people", "an alias cannot contain itself", id="recursive-alias"),
    pytest.param("? [a, b]\n: 1\n", "? [a, b]", "a key must be a plain name", id="list-key"),
])
def test_yaml_that_pyyaml_accepts_but_a_scenario_cannot_hold(extra: str, needle: str, words: str) -> None:
    text = MINIMAL + extra
    message = error_of(text)
    assert message.startswith(f"{SOURCE} line {line_of(text, needle)}: "), message
    assert words in message


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


@pytest.mark.parametrize("path, snippet, field", [
    ("contracts", "discount_pct: [0, 100]", "contracts.discount_pct.1"),
    ("people", "hours_per_day: [0, 8]", "people.hours_per_day.0"),
    ("amendments", "rate_change_pct: [-100, 5]", "amendments.rate_change_pct.0"),
])
def test_nonsense_amounts_are_rejected_at_the_field(path: str, snippet: str, field: str) -> None:
    text = (ROOT / "scenarios" / "baseline.yaml").read_text()
    lines = text.splitlines()
    key = snippet.split(":")[0]
    index = next(i for i, line in enumerate(lines) if line.strip().startswith(key + ":"))
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = indent + snippet
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("\n".join(lines), "s.yaml")
    assert f"s.yaml line {index + 1}: {field}: " in str(caught.value)


def test_duplicate_legal_entity_ids_are_rejected() -> None:
    text = (ROOT / "scenarios" / "baseline.yaml").read_text().replace(
        "  - {id: UK01, name: \"c2c Consulting Ltd\", currency: GBP, invoice_prefix: UK01, weight: 1}",
        "  - {id: US01, name: \"c2c Consulting Ltd\", currency: GBP, invoice_prefix: UK01, weight: 1}")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    assert "legal_entities.1.id: 'US01' is used twice" in str(caught.value)


# -- upper bounds: an accepted scenario never crashes the run later ---------------------------------


@pytest.mark.parametrize(("block", "snippet", "path", "limit"), [
    ("contracts", "duration_months: [2, 121]", "contracts.duration_months.1", 120),
    ("contracts", "team_size: [2, 101]", "contracts.team_size.1", 100),
    ("contracts", "milestones: [2, 51]", "contracts.milestones.1", 50),
    ("amendments", "extension_months: [1, 121]", "amendments.extension_months.1", 120),
    ("people", "payment_delay_days: [-5, 100000]", "people.payment_delay_days.1", 366),
    ("people", "legal_review_days: [1, 1e300]", "people.legal_review_days.1", 366),
    ("amendments", "cap_raise_pct: [10, 1e300]", "amendments.cap_raise_pct.1", 1000),
    ("amendments", "rate_change_pct: [-5, 1e300]", "amendments.rate_change_pct.1", 1000),
])
def test_ranges_have_upper_bounds(block: str, snippet: str, path: str, limit: int) -> None:
    key = snippet.split(":")[0]
    if block != "contracts":
        text = MINIMAL + f"{block}:\n  {snippet}\n"
    elif key == "duration_months":
        text = edit("  duration_months: [2, 4]", f"  {snippet}")
    else:
        text = MINIMAL + f"  {snippet}\n"  # contracts is MINIMAL's last block
    message = error_of(text)
    assert_points_at(message, line_of(text, key), path)
    assert f"less than or equal to {limit}" in message


@pytest.mark.parametrize(("old", "new", "path"), [
    ("  - name: analyst\n      share: 1.0", "  - name: analyst\n      share: 1e308", "firm.roles.0.share"),
    ("invoice_prefix: US01}", "invoice_prefix: US01, weight: 1e308}", "legal_entities.0.weight"),
])
def test_weights_are_bounded_so_their_sum_stays_finite(old: str, new: str, path: str) -> None:
    assert path + ": " in error_of(edit(old, new))


@pytest.mark.parametrize("start", ["1999-12-01", "2101-01-01", "0001-01-01", "9999-12-01"])
def test_start_year_is_between_2000_and_2100(start: str) -> None:
    text = edit("start: 2026-01-01", f"start: {start}")
    message = error_of(text)
    assert_points_at(message, line_of(text, "start:"), "start")
    assert "2000 to 2100" in message


@pytest.mark.parametrize("start", ["2000-01-01", "2100-12-01"])
def test_start_years_at_the_limits_parse(start: str) -> None:
    assert parse_scenario(edit("start: 2026-01-01", f"start: {start}"), SOURCE).start == dt.date.fromisoformat(start)


@pytest.mark.parametrize(("rates", "currency"), [
    ('{USD: "333.333"}', "USD"),
    ('{USD: "100.00", JPY: "17500.5"}', "JPY"),
    ('{USD: "0.001"}', "USD"),
    ("{USD: 100.005}", "USD"),
])
def test_rate_with_more_decimals_than_the_currency_is_rejected_not_rounded(rates: str, currency: str) -> None:
    text = edit('rates: {USD: "100.00"}', f"rates: {rates}")
    message = error_of(text)
    assert_points_at(message, line_of(text, "rates:"), f"firm.roles.0.rates.{currency}")
    assert "more decimals than" in message and currency in message


def test_rates_that_fit_the_currency_parse_unchanged() -> None:
    text = edit('rates: {USD: "100.00"}', 'rates: {USD: "333.30", GBP: 95, JPY: "17500.0", EUR: 0.5}')
    rates = parse_scenario(text, SOURCE).firm.roles[0].rates
    assert rates == {"USD": Decimal("333.30"), "GBP": Decimal(95), "JPY": Decimal(17500), "EUR": Decimal("0.5")}


def test_rate_has_an_upper_bound() -> None:
    text = edit('rates: {USD: "100.00"}', 'rates: {USD: "1e40"}')
    assert_points_at(error_of(text), line_of(text, "rates:"), "firm.roles.0.rates.USD")


@pytest.mark.parametrize(("old", "new", "path"), [
    ("months: 3", "months: true", "months"),
    ("months: 3", "months: yes", "months"),
    ("consultants: 5", "consultants: on", "firm.consultants"),
    ("count: 2", "count: true", "customers.count"),
    ("  duration_months: [2, 4]", "  duration_months: [true, 4]", "contracts.duration_months.0"),
    ("  per_month: 1", "  per_month: true", "contracts.per_month"),
    ("  per_month: 1", "  per_month: 1\n  initial: true", "contracts.initial"),
    ("  per_month: 1", "  per_month: 1\n  payment_terms_days: false", "contracts.payment_terms_days"),
    ("months: 3", "months: 3\nsettle_days: true", "settle_days"),
    ("months: 3", "months: 3\npipeline:\n  win_rate: yes", "pipeline.win_rate"),
    ("      share: 1.0", "      share: true", "firm.roles.0.share"),
])
def test_a_boolean_is_not_a_number(old: str, new: str, path: str) -> None:
    text = edit(old, new)
    message = error_of(text)
    assert_points_at(message, line_of(text, new.strip().splitlines()[-1]), path)
    assert "not the boolean" in message


@pytest.mark.parametrize(("old", "new", "path"), [
    ("months: 3", "months: 3.0", "months"),
    ("months: 3", 'months: "3"', "months"),
    ("months: 3", "months: 2.5", "months"),
    ("consultants: 5", "consultants: 5.5", "firm.consultants"),
])
def test_counts_are_strict_integers(old: str, new: str, path: str) -> None:
    text = edit(old, new)
    assert_points_at(error_of(text), line_of(text, new), path)


@pytest.mark.parametrize(("snippet", "path"), [
    ("faults:\n  feed_retention: true", "faults.feed_retention"),
    ("faults:\n  rate_limits:\n    erp: {per_second: 5, burst: yes}", "faults.rate_limits.erp.burst"),
    ("faults:\n  webhooks:\n    script: [{event: evt_psa_1, drop: true}]", "faults.webhooks.script.0.event"),
    ("faults:\n  webhooks:\n    script: [{event: evt_psa_00000001, copies: 9}]", "faults.webhooks.script.0.copies"),
    ("faults:\n  webhooks:\n    script: [{event: evt_psa_00000001}, {event: evt_psa_00000001}]",
     "faults.webhooks.script"),
    ("faults:\n  webhooks:\n    replay_after_seconds: 60", "faults.webhooks.replay_after_seconds"),
    ("faults:\n  webhooks:\n    attacks: 2", "faults.webhooks.attacks"),
    ("people:\n  projects_set_up_by_hand: -1", "people.projects_set_up_by_hand"),
    ("faults:\n  http:\n    - {kind: server_error, rate: 0.1, status: true}", "faults.http.0.status"),
])
def test_fault_counts_are_not_booleans_either(snippet: str, path: str) -> None:
    assert f"{path}: " in error_of(MINIMAL + snippet + "\n")


# -- replay ages -----------------------------------------------------------------------------------


def test_replay_ages_are_a_list_and_a_single_age_still_loads() -> None:
    several = parse_scenario(MINIMAL + "faults:\n  webhooks:\n    replay_after_seconds: [420, 330, 172800]\n", SOURCE)
    assert several.faults.webhooks.replay_after_seconds == [420.0, 330.0, 172800.0]
    single = parse_scenario(MINIMAL + "faults:\n  webhooks:\n    replay_after_seconds: 900\n", SOURCE)
    assert single.faults.webhooks.replay_after_seconds == [900.0]


@pytest.mark.parametrize(("ages", "path", "words"), [
    ("[330, 900, 330]", "faults.webhooks.replay_after_seconds.2", "the age 330 s is given twice (first at index 0)"),
    ("[60, 120, 300]", "faults.webhooks.replay_after_seconds",
     "no age is beyond the 300 s timestamp tolerance of Standard Webhooks, so no replay would be stale"),
    ("[330, 0]", "faults.webhooks.replay_after_seconds.1", "greater than 0"),
    ("[330, 1e300]", "faults.webhooks.replay_after_seconds.1", "less than or equal to 31622400"),
    ("[330, true]", "faults.webhooks.replay_after_seconds.1", "not the boolean true"),
    ("[]", "faults.webhooks.replay_after_seconds", "at least 1 item"),
    (str(list(range(301, 314))), "faults.webhooks.replay_after_seconds", "at most 12 items"),
])
def test_replay_ages_are_distinct_bounded_and_one_is_stale(ages: str, path: str, words: str) -> None:
    text = MINIMAL + f"faults:\n  webhooks:\n    replay_after_seconds: {ages}\n"
    message = error_of(text)
    assert_points_at(message, line_of(text, "replay_after_seconds"), path)
    assert words in message, message



@pytest.mark.parametrize(("given", "path", "words"), [
    pytest.param("121", "contracts.payment_terms_days", "less than or equal to 120", id="one value: no index"),
    pytest.param("45.0", "contracts.payment_terms_days", "valid integer", id="not an integer"),
    pytest.param("[]", "contracts.payment_terms_days", "at least 1 item", id="an empty list"),
    pytest.param("[30, 121]", "contracts.payment_terms_days.1", "less than or equal to 120", id="a listed value"),
])
def test_payment_terms_are_one_value_or_a_list_named_as_written(given: str, path: str, words: str) -> None:
    text = edit("  per_month: 1", f"  per_month: 1\n  payment_terms_days: {given}")
    message = error_of(text)
    assert_points_at(message, line_of(text, "payment_terms_days"), path)
    assert words in message


def test_payment_terms_may_be_one_value_or_a_list() -> None:
    one = parse_scenario(edit("  per_month: 1", "  per_month: 1\n  payment_terms_days: 45"), SOURCE)
    listed = parse_scenario(edit("  per_month: 1", "  per_month: 1\n  payment_terms_days: [14, 60]"), SOURCE)
    assert (one.contracts.payment_terms_days, listed.contracts.payment_terms_days) == ([45], [14, 60])
