"""KPI gates (simulator/gates.py) and their JUnit XML (simulator/junit.py): parsing, judging, reporting.

Pure: gates files as text, KPIs and comparisons as dicts; nothing runs a
simulation (the command is tested in tests/test_gates_cli.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from simulator.compare import compare
from simulator.gates import (
    OPERATORS,
    GateError,
    Gates,
    Judgement,
    Threshold,
    errors,
    evaluate,
    evaluate_compare,
    failures,
    junit_cases,
    load_gates,
    parse_gates,
)
from simulator.junit import Case, render
from tests.conftest import ROOT
from tests.test_compare import kpis as compare_kpis


def run_kpis(**changes: Any) -> dict[str, Any]:
    """A kpis.json as a clean run writes it: no leakage (an empty map), percentiles, a WIP list."""
    kpis = {
        "schema_version": "1.1", "scenario": "s", "seed": 1,
        "reconciliation": {"mismatches": 0, "mismatches_by_rule": {}, "late_invoices": 0, "items_checked": 120},
        "revenue_leakage": {}, "over_billing": {},
        "invoices": {"count": 6, "disputed": 0, "count_by_currency": {"USD": 6},
                     "cycle_time_hours": {"count": 40, "p50": 300.5, "p95": 650.25}, "billing_lag": {"share": 0.125}},
        "unbilled_wip": [{"month_end": "2026-01-31", "by_currency": {"USD": 500}},
                         {"month_end": "2026-02-28", "by_currency": {"USD": 700}}],
        "receivables": {"dso_days": {"USD": None}},
        "contracts": {"signed_by_billing_type": {"capped_tm": 2, "time_and_materials": 3}},
        "connector_errors": 0, "connector_errors_by_kind": {},
    }
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = kpis
        for key in parents:
            target = target[key]
        target[last] = value
    return kpis


def gates_of(*lines: str, section: str = "kpis") -> Gates:
    return parse_gates(f"{section}:\n" + "".join(f"  - {line}\n" for line in lines), "g.yaml")


def judge(line: str, kpis: dict[str, Any] | None = None):
    [outcome] = evaluate(gates_of(line), kpis or run_kpis())
    return outcome


# -- parsing ---------------------------------------------------------------------------------


def test_a_file_with_both_sections_parses_with_lines() -> None:
    gates = parse_gates("# gates\nkpis:\n  - reconciliation.mismatches == 0\n  - invoices.cycle_time_hours.p95 <= 400\n"
                        "compare:\n  - revenue_leakage.USD not worse\n  - invoices.count better, higher is better\n",
                        "ci.yaml")
    assert gates.thresholds == (
        Threshold("reconciliation.mismatches == 0", ("reconciliation", "mismatches"), "==", 0.0, "ci.yaml", 3),
        Threshold("invoices.cycle_time_hours.p95 <= 400", ("invoices", "cycle_time_hours", "p95"), "<=", 400.0,
                  "ci.yaml", 4))
    assert gates.judgements == (
        Judgement("revenue_leakage.USD not worse", "revenue_leakage.USD", "not worse", None, "ci.yaml", 6),
        Judgement("invoices.count better, higher is better", "invoices.count", "better", "higher", "ci.yaml", 7))
    assert gates.thresholds[1].wants == "<= 400" and gates.judgements[0].wants == "B not worse than A"


def test_the_shipped_gates_parse() -> None:
    gates = load_gates(ROOT / "scenarios" / "gates" / "ci.yaml")
    assert len(gates.thresholds) >= 10 and gates.thresholds[0].text == "reconciliation.mismatches == 0"
    assert load_gates(ROOT / "scenarios" / "gates" / "what_if.yaml").judgements


@pytest.mark.parametrize("text, message", [
    ("kpis: [", "g.yaml line 1: not valid YAML"),
    ("kpis:\n  - a == 1\n\tb: 1\n", "g.yaml line 3: not valid YAML: found character '\\t' that cannot start any token"),
    ("", "g.yaml: the file is empty"),
    ("- a == 1\n", "g.yaml line 1: gates are a mapping with a kpis: and/or compare: list, not a list"),
    ("kpis:\n  - a == 1\nkpi:\n  - b == 1\n", "g.yaml line 3: unknown section 'kpi'; a gates file has kpis and compare"),
    ("kpis:\n  - a == 1\nkpis:\n  - b == 1\n", "g.yaml line 3: kpis: given twice"),
    ("kpis: reconciliation.mismatches == 0\n", "g.yaml line 1: kpis: must be a list of gates, one a line"),
    ("kpis:\n  - reconciliation.mismatches: 0\n", "g.yaml line 2: kpis[0]: a gate is one line of text such as "
                                                  "'reconciliation.mismatches == 0', not a mapping"),
    ("kpis:\n  - 12\n", "g.yaml line 2: kpis[0]: a gate is one line of text such as 'reconciliation.mismatches == 0', "
                        "not '12'"),
    ("kpis:\n\n  - a.b = 0\n", "g.yaml line 3: kpis[0]: 'a.b = 0' is not PATH OP NUMBER with OP one of ==, !=, <=, <, "
                               ">=, > (equality is ==)"),
    ("kpis:\n  - a.b =< 0\n", "g.yaml line 2: kpis[0]: 'a.b =< 0' is not PATH OP NUMBER"),
    ("kpis:\n  - a.b <= zero\n", "g.yaml line 2: kpis[0]: 'a.b <= zero': 'zero' is not a number"),
    ("kpis:\n  - a.b <= 1e999\n", "g.yaml line 2: kpis[0]: 'a.b <= 1e999': '1e999' is not a finite number"),
    ("kpis:\n  - a.b <= 1 hour\n", "is not PATH OP NUMBER"),
    ("kpis:\n  - a == 1\n  - a  ==  1\n", "g.yaml line 3: kpis[1]: 'a == 1' is given twice (first on line 2)"),
    ("kpis:\ncompare:\n", "g.yaml: no gates; give a kpis: or compare: list"),
    ("compare:\n  - revenue_leakage.USD worse\n", "g.yaml line 2: compare[0]: 'revenue_leakage.USD worse' is not "
                                                   "'KPI not worse' or 'KPI better'"),
    ("compare:\n  - revenue_leak.USD not worse\n", "c2c compare has no KPI 'revenue_leak.USD'; did you mean "
                                                    "revenue_leakage.CUR"),
    ("compare:\n  - revenue_leakage not worse\n", "it has one row per currency: name one, e.g. revenue_leakage.USD"),
    ("compare:\n  - revenue_leakage.XYZ not worse\n", "c2c compare has no KPI 'revenue_leakage.XYZ'"),
    ("compare:\n  - invoices.count not worse\n", "g.yaml line 2: compare[0]: 'invoices.count not worse': c2c compare "
                                                  "gives invoices.count no direction; say which way is good"),
    ("compare:\n  - invoices.disputed not worse, higher is better\n", "c2c compare holds that lower is better for "
                                                                       "invoices.disputed"),
])
def test_bad_gates_files_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(GateError) as error:
        parse_gates(text, "g.yaml")
    assert message in str(error.value)
    assert "\n" not in str(error.value)  # one fault, one line


def test_every_fault_of_a_file_is_reported_at_once() -> None:
    with pytest.raises(GateError) as error:
        parse_gates("kpis:\n  - a = 1\n  - b == 2\n  - c <\ncompare:\n  - nothing not worse\n", "g.yaml")
    lines = str(error.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["g.yaml line 2", "g.yaml line 4", "g.yaml line 6"]


def test_an_unreadable_file_is_a_gate_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match=r"missing.yaml: cannot read gates: No such file"):
        load_gates(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(GateError, match="not UTF-8"):
        load_gates(binary)


# -- judging one run ---------------------------------------------------------------------------


@pytest.mark.parametrize("op, passes, fails", [
    ("==", 650.25, 650), ("!=", 1, 650.25), ("<=", 650.25, 650.24), ("<", 651, 650.25),
    (">=", 650.25, 650.26), (">", 650, 650.25),
])
def test_every_operator(op: str, passes: float, fails: float) -> None:
    ok = judge(f"invoices.cycle_time_hours.p95 {op} {passes}")
    assert (ok.status, ok.actual, ok.message) == ("pass", "650.25", "")
    bad = judge(f"invoices.cycle_time_hours.p95 {op} {fails}")
    assert bad.status == "fail" and bad.actual == "650.25"
    assert bad.message == f"invoices.cycle_time_hours.p95 is 650.25; the gate wants {op} {fails:g}"
    assert set(OPERATORS) == {"==", "!=", "<=", "<", ">=", ">"}


def test_thresholds_on_counts_floats_negative_and_exponent_numbers() -> None:
    assert judge("reconciliation.mismatches == 0").passed
    assert judge("reconciliation.mismatches <= 2", run_kpis(reconciliation__mismatches=3)).status == "fail"
    assert judge("invoices.billing_lag.share <= 0.2").passed
    assert judge("invoices.billing_lag.share > -1").passed
    assert judge("reconciliation.items_checked >= 1.2e2").passed


def test_absent_money_per_currency_reads_zero_and_says_so() -> None:
    outcome = judge("revenue_leakage.USD <= 0")
    assert (outcome.status, outcome.actual) == ("pass", "0 (none recorded)")
    leaking = run_kpis(revenue_leakage={"USD": 12345})
    outcome = judge("revenue_leakage.USD <= 0", leaking)
    assert (outcome.status, outcome.actual) == ("fail", "12345")
    assert outcome.message == "revenue_leakage.USD is 12345; the gate wants <= 0"
    assert judge("contracts.signed_by_billing_type.retainer >= 1").status == "fail"  # none signed: 0
    assert judge("connector_errors_by_kind.receive == 0").passed


def test_a_typo_in_a_zero_filled_map_is_an_error_not_zero() -> None:
    outcome = judge("revenue_leakage.UDS <= 0")
    assert outcome.status == "error"
    assert outcome.message.startswith("g.yaml line 2: 'revenue_leakage.UDS <= 0': revenue_leakage has no 'UDS': "
                                      "its keys are among USD, EUR")
    assert judge("contracts.signed_by_billing_type.milestones >= 1").status == "error"


def test_a_missing_path_is_an_error_naming_the_gate_not_a_pass() -> None:
    outcome = judge("invoices.cycle_time_hour.p95 <= 400")
    assert (outcome.status, outcome.actual) == ("error", "")
    assert outcome.message == ("g.yaml line 2: 'invoices.cycle_time_hour.p95 <= 400': invoices has no "
                               "'cycle_time_hour' (it has billing_lag, count, count_by_currency, cycle_time_hours, "
                               "disputed); did you mean 'cycle_time_hours'?")
    assert "kpis.json has no 'nothing'" in judge("nothing == 0").message
    assert "reconciliation.mismatches is 0, a number: it has no 'x'" in judge("reconciliation.mismatches.x == 0").message
    # a rule that never fired is absent, and rule names are not a known list: an error, never a silent 0
    assert judge("reconciliation.mismatches_by_rule.duplicate_customer == 0").status == "error"


def test_a_mapping_or_a_list_is_not_a_number() -> None:
    outcome = judge("invoices.cycle_time_hours <= 400")
    assert outcome.status == "error" and "invoices.cycle_time_hours is a mapping of count, p50, p95, not a number" \
        in outcome.message
    assert "unbilled_wip is a list of 2, not a number" in judge("unbilled_wip <= 1").message


def test_list_entries_by_index() -> None:
    assert judge("unbilled_wip.-1.by_currency.USD == 700").passed
    assert judge("unbilled_wip.0.by_currency.USD == 500").passed
    outcome = judge("unbilled_wip.5.by_currency.USD == 1")
    assert outcome.status == "error" and "unbilled_wip is a list of 2; '5' is not an index in it" in outcome.message


def test_a_value_the_run_did_not_measure_fails() -> None:
    outcome = judge("receivables.dso_days.USD <= 45")
    assert (outcome.status, outcome.actual) == ("fail", "null")
    assert outcome.message == "receivables.dso_days.USD was not measured in this run (null); the gate wants <= 45"


def test_outcomes_keep_the_files_order_and_sort_into_failures_and_errors() -> None:
    gates = gates_of("reconciliation.mismatches == 0", "nothing == 0", "invoices.count >= 10", "invoices.count >= 1")
    outcomes = evaluate(gates, run_kpis())
    assert [o.status for o in outcomes] == ["pass", "error", "fail", "pass"]
    assert [o.gate.line for o in failures(outcomes)] == [4] and [o.gate.line for o in errors(outcomes)] == [3]
    assert evaluate(gates.thresholds[:1], run_kpis())[0].passed  # a plain list of thresholds works too


# -- judging a comparison -----------------------------------------------------------------------


def comparison(a_mismatches: list[int], b_mismatches: list[int], a_calls: list[int] | None = None,
               b_calls: list[int] | None = None) -> dict[str, Any]:
    seeds = range(1, len(a_mismatches) + 1)
    a_calls = a_calls or [10] * len(a_mismatches)
    b_calls = b_calls or [10] * len(b_mismatches)
    return compare([compare_kpis(s, mismatches=m, calls=c) for s, m, c in zip(seeds, a_mismatches, a_calls, strict=True)],
                   [compare_kpis(s, mismatches=m, calls=c) for s, m, c in zip(seeds, b_mismatches, b_calls, strict=True)])


def judged(line: str, result: dict[str, Any]):
    [outcome] = evaluate_compare(gates_of(line, section="compare"), result)
    return outcome


def test_not_worse_fails_only_when_the_interval_lies_on_the_bad_side() -> None:
    worse = comparison([1, 2, 3, 4], [3, 5, 5, 7])  # B − A: 2, 3, 2, 3: interval above 0, lower is better
    outcome = judged("reconciliation.mismatches not worse", worse)
    assert outcome.status == "fail" and outcome.actual.startswith("Δ +2.5 [+1.")
    assert outcome.message == ("reconciliation.mismatches: B is worse than A: the 95% interval of B − A lies above 0 "
                               "and lower is better")
    noisy = comparison([1, 2, 3, 4], [3, 1, 6, 3])  # B − A: 2, -1, 3, -1: the interval includes 0
    assert judged("reconciliation.mismatches not worse", noisy).passed
    better = comparison([3, 5, 5, 7], [1, 2, 3, 4])
    assert judged("reconciliation.mismatches not worse", better).passed


def test_better_passes_only_when_the_interval_lies_on_the_good_side() -> None:
    assert judged("reconciliation.mismatches better", comparison([3, 5, 5, 7], [1, 2, 3, 4])).passed
    noisy = judged("reconciliation.mismatches better", comparison([1, 2, 3, 4], [3, 1, 6, 3]))
    assert noisy.status == "fail" and noisy.message.endswith("B is not shown better than A: the 95% interval of "
                                                             "B − A lies across 0")
    assert judged("reconciliation.mismatches better", comparison([1, 2, 3, 4], [3, 5, 5, 7])).status == "fail"


def test_a_declared_direction_judges_a_metric_without_one() -> None:
    more_calls = comparison([0, 0, 0], [0, 0, 0], a_calls=[10, 11, 12], b_calls=[20, 23, 22])
    assert judged("api_calls.total better, higher is better", more_calls).passed
    assert judged("api_calls.total not worse, lower is better", more_calls).status == "fail"


def test_no_interval_fails_and_a_missing_row_is_an_error() -> None:
    one_seed = comparison([1], [5])
    outcome = judged("reconciliation.mismatches not worse", one_seed)
    assert outcome.status == "fail" and "1 seed(s) measured it in both (needs 2 or more)" in outcome.message
    outcome = judged("revenue_leakage.EUR not worse", comparison([1, 2], [1, 2]))
    assert outcome.status == "error"
    assert outcome.message.startswith("g.yaml line 2: 'revenue_leakage.EUR not worse': this comparison has no row "
                                      "'revenue_leakage.EUR' (neither scenario measured it); it has revenue_leakage.USD")


# -- JUnit XML ------------------------------------------------------------------------------------


def test_junit_has_one_case_per_gate_with_the_actual_value_and_the_threshold() -> None:
    gates = gates_of("reconciliation.mismatches == 0", "invoices.cycle_time_hours.p95 <= 400", "nothing == 0")
    outcomes = evaluate(gates, run_kpis())
    xml = render("c2c simulate s seed 1", junit_cases(outcomes, "c2c.simulate.s"), {"scenario": "s", "seed": "1"})
    root = ET.fromstring(xml)
    assert root.tag == "testsuites" and root.attrib == {"name": "c2c simulate s seed 1", "tests": "3",
                                                         "failures": "1", "errors": "1", "skipped": "0"}
    [suite] = root
    assert {p.get("name"): p.get("value") for p in suite.find("properties")} == {"scenario": "s", "seed": "1"}
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [g.text for g in gates.thresholds]
    assert [(c.get("classname"), c.get("file"), c.get("line")) for c in cases] == [
        ("c2c.simulate.s", "g.yaml", "2"), ("c2c.simulate.s", "g.yaml", "3"), ("c2c.simulate.s", "g.yaml", "4")]
    assert list(cases[0]) == []
    failure = cases[1].find("failure")
    assert failure.get("message") == "invoices.cycle_time_hours.p95 is 650.25; the gate wants <= 400"
    assert "actual: 650.25" in failure.text and "wants: <= 400" in failure.text and "g.yaml line 3" in failure.text
    error = cases[2].find("error")
    assert error is not None and "kpis.json has no 'nothing'" in error.get("message")


def test_junit_escapes_markup_and_is_byte_identical_for_the_same_cases() -> None:
    cases = [Case('a < b & "c"', "k", "fail", "x <= 1 & y", "detail <here>"), Case("ok", "k")]
    first = render("suite <1>", cases)
    assert first == render("suite <1>", cases)
    assert first.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(first)
    case = root.find("testsuite/testcase")
    assert case.get("name") == 'a < b & "c"' and case.find("failure").text == "detail <here>"
    assert ET.fromstring(render("empty", [])).get("tests") == "0"
