"""``c2c compare``: the statistics of simulator/compare.py against hand-computed values, and the command."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.compare import compare, format_number, summarize, t_critical
from tests.conftest import ROOT

# t(0.975, df) from the standard tables
T_TABLE = {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 9: 2.262157, 10: 2.228139, 30: 2.042272,
           120: 1.979930}


@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_t_critical_matches_the_tables(df: int) -> None:
    assert t_critical(df) == pytest.approx(T_TABLE[df], abs=1e-6)


def test_t_critical_needs_a_degree_of_freedom() -> None:
    with pytest.raises(ValueError):
        t_critical(0)


def test_mean_and_interval_by_hand() -> None:
    # 1, 2, 3, 4: mean 2.5, s² = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3, half-width t(0.975, 3) · s / 2
    summary = summarize([1, 2, 3, 4])
    assert summary.n == 4 and summary.mean == 2.5
    assert summary.stdev == pytest.approx(math.sqrt(5 / 3))
    assert summary.half_width == pytest.approx(3.182446 * math.sqrt(5 / 3) / 2, abs=1e-6)  # 2.054260
    assert summary.interval == pytest.approx((2.5 - 2.054260, 2.5 + 2.054260), abs=1e-6)
    # two values: 10 and 14, s = 2·√2, half-width 12.706205 · 2√2 / √2 = 25.41241
    assert summarize([10, 14]).half_width == pytest.approx(25.41241, abs=1e-5)
    assert summarize([7, 7, 7]).half_width == 0


def test_one_value_has_no_interval_and_none_has_no_mean() -> None:
    one = summarize([42])
    assert (one.n, one.mean, one.stdev, one.half_width, one.interval) == (1, 42.0, None, None, None)
    assert summarize([]).mean is None


def kpis(seed: int, *, mismatches: int = 0, leakage: dict[str, int] | None = None, p50: float | None = 100.0,
         dso: dict[str, float] | None = None, calls: int = 10, currencies: tuple[str, ...] = ("USD",)) -> dict[str, Any]:
    """A minimal kpis.json with the fields the comparison reads."""
    return {
        "scenario": "s", "seed": seed,
        "reconciliation": {"mismatches": mismatches, "mismatches_by_rule": {}},
        "revenue_leakage": leakage or {}, "over_billing": {},
        "invoices": {"count": 5, "disputed": 0, "count_by_currency": {c: 1 for c in currencies},
                     "cycle_time_hours": {"p50": p50, "p95": p50}, "billing_lag": {"share": 0.25}},
        "unbilled_wip": [{"month_end": "2026-01-31", "by_currency": {c: 100 for c in currencies}}],
        "receivables": {"dso_days": dso if dso is not None else {"USD": 30.0}},
        "projects": {"project_setup_minutes": {"p95": 120.0}},
        "sync_latency": {"psa_approval_to_erp_charge_minutes": {"p95": 6.0}},
        "api_calls": {"crm": {"calls": calls, "rate_limited_429": 0}, "erp": {"calls": calls, "rate_limited_429": 1}},
    }


def row(result: dict[str, Any], row_id: str) -> dict[str, Any]:
    return next(r for r in result["metrics"] if r["id"] == row_id)


def test_compare_means_intervals_and_delta() -> None:
    a = [kpis(1, mismatches=1), kpis(2, mismatches=2), kpis(3, mismatches=3), kpis(4, mismatches=4)]
    b = [kpis(1, mismatches=0), kpis(2, mismatches=0), kpis(3, mismatches=1), kpis(4, mismatches=1)]
    result = compare(a, b, a_name="legacy", b_name="modern")
    assert result["a"] == {"scenario": "legacy", "seeds": [1, 2, 3, 4]}
    mism = row(result, "reconciliation.mismatches")
    assert mism["a"]["mean"] == 2.5 and mism["a"]["half_width"] == pytest.approx(2.0543, abs=1e-4)
    assert mism["a"]["ci95"] == pytest.approx([0.4457, 4.5543], abs=1e-4)
    assert mism["b"]["mean"] == 0.5
    # paired differences B - A: -1, -2, -2, -3: mean -2, s = √(2/3), half-width 3.182446 · s / 2 = 1.2992
    assert mism["delta"]["mean"] == -2.0 and mism["delta"]["n_pairs"] == 4
    assert mism["delta"]["half_width"] == pytest.approx(3.182446 * math.sqrt(2 / 3) / 2, abs=1e-4)
    assert mism["delta"]["excludes_zero"] is True
    calls = row(result, "api_calls.total")  # summed over systems
    assert calls["a"]["mean"] == 20 and calls["a"]["half_width"] == 0 and calls["delta"]["mean"] == 0
    assert row(result, "api_calls.rate_limited_429")["a"]["mean"] == 1
    assert row(result, "projects.project_setup_hours.p95")["a"]["mean"] == 2.0  # minutes shown as hours


def test_money_rows_per_currency_fill_zeros_and_dso_does_not() -> None:
    a = [kpis(1, leakage={"USD": 1000}, dso={"USD": 30.0, "GBP": 40.0}, currencies=("USD", "GBP")),
         kpis(2, leakage={"USD": 3000}, dso={"USD": 50.0})]
    b = [kpis(1), kpis(2)]
    result = compare(a, b)
    ids = [r["id"] for r in result["metrics"]]
    assert "revenue_leakage.GBP" in ids and "revenue_leakage.USD" in ids and "over_billing.USD" in ids
    usd = row(result, "revenue_leakage.USD")
    assert (usd["a"]["mean"], usd["b"]["mean"], usd["delta"]["mean"]) == (2000, 0, -2000)
    assert row(result, "revenue_leakage.GBP")["a"]["mean"] == 0  # invoiced in GBP, nothing leaked there
    gbp_dso = row(result, "receivables.dso_days.GBP")
    assert gbp_dso["a"]["n"] == 1 and gbp_dso["a"]["ci95"] is None and gbp_dso["b"]["mean"] is None
    assert gbp_dso["delta"]["mean"] is None


def test_one_seed_has_means_and_a_delta_but_no_interval() -> None:
    result = compare([kpis(7, p50=300.0)], [kpis(7, p50=120.0)])
    cycle = row(result, "invoices.cycle_time_hours.p50")
    assert cycle["a"] == {"n": 1, "mean": 300.0, "stdev": None, "ci95": None, "half_width": None}
    assert cycle["delta"]["mean"] == -180.0 and cycle["delta"]["ci95"] is None
    assert cycle["delta"]["excludes_zero"] is None


def test_unmeasured_values_are_left_out_not_counted_as_zero() -> None:
    result = compare([kpis(1, p50=None), kpis(2, p50=10.0)], [kpis(1), kpis(2)])
    cycle = row(result, "invoices.cycle_time_hours.p50")
    assert cycle["a"]["n"] == 1 and cycle["a"]["mean"] == 10.0 and cycle["delta"]["n_pairs"] == 1


def test_the_same_runs_in_any_order_give_the_same_json() -> None:
    a = [kpis(s, mismatches=s * s, leakage={"USD": 17 * s}) for s in range(1, 6)]
    b = [kpis(s, mismatches=s) for s in range(1, 6)]
    first = json.dumps(compare(a, b), sort_keys=True)
    random.Random(3).shuffle(a)
    random.Random(4).shuffle(b)
    assert json.dumps(compare(a, b), sort_keys=True) == first


def test_a_seed_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="once"):
        compare([kpis(1), kpis(1)], [kpis(1)])


def test_numbers_are_shown_in_their_units() -> None:
    assert format_number(123456, "money", "USD") == "USD 1,234.56"
    assert format_number(123456, "money", "JPY") == "JPY 123,456"
    assert format_number(-50, "money", "GBP", signed=True) == "GBP -0.50"
    assert format_number(0.175, "share") == "17.5%"
    assert format_number(2.5, "hours", signed=True) == "+2.5 h"
    assert format_number(3.0, "count") == "3"


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_scenarios(tmp_path_factory) -> tuple[Path, Path]:
    """The plain T&M firm with the legacy batch (A) and with the reference connector (B)."""
    legacy = ROOT / "tests" / "scenarios" / "tm_only.yaml"
    modern = tmp_path_factory.mktemp("scenarios") / "tm_only_reference.yaml"
    text = legacy.read_text().replace("name: tm_only", "name: tm_only_reference")
    modern.write_text(text.replace("connector: reference_impl.legacy:build", "connector: reference_impl.connector:build"))
    return legacy, modern


def run_compare(legacy: Path, modern: Path, out: Path, jobs: int) -> str:
    result = CliRunner().invoke(main, ["compare", str(legacy), str(modern), "--seeds", "2", "--jobs", str(jobs),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def test_compare_command_runs_both_and_writes_json(two_scenarios, tmp_path: Path) -> None:
    legacy, modern = two_scenarios
    out = tmp_path / "cmp" / "compare.json"
    output = run_compare(legacy, modern, out, jobs=1)
    assert "Δ B − A" in output and "reconciliation" in output and f"wrote {out}" in output
    data = json.loads(out.read_text())
    assert data["a"] == {"scenario": "tm_only", "seeds": [1, 2]}
    assert data["b"] == {"scenario": "tm_only_reference", "seeds": [1, 2]}
    mism = row(data, "reconciliation.mismatches")
    # the nightly batch dates charges by its import night: work approved on a month's last day misses that
    # month's run, and at the horizon's end it is never invoiced (not_invoiced); the reference misses nothing
    assert mism["a"]["mean"] > 0 and mism["b"]["mean"] == 0 and mism["a"]["n"] == 2
    latency = row(data, "sync_latency.psa_approval_to_erp_charge_hours.p95")
    assert latency["a"]["mean"] > 1 > latency["b"]["mean"]  # a night's wait against minutes
    assert latency["a"]["ci95"] is not None and latency["delta"]["mean"] < 0
    # the same runs on two worker processes: the same file, byte for byte
    run_compare(legacy, modern, tmp_path / "parallel.json", jobs=2)
    assert (tmp_path / "parallel.json").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["compare", "missing.yaml", "{legacy}"], "missing.yaml: cannot read scenario"),
    (["compare", "{legacy}", "{legacy}", "--seeds", "0"], "--seeds"),
    (["compare", "{legacy}", "{bad_connector}"], "connector"),
    (["compare", "{legacy}", "{legacy}", "--out", ""], "--out"),
])
def test_compare_errors_are_messages_with_exit_2(two_scenarios, tmp_path: Path, args, message) -> None:
    legacy, _ = two_scenarios
    bad = tmp_path / "bad.yaml"
    bad.write_text(legacy.read_text().replace("reference_impl.legacy:build", "reference_impl.nowhere:build"))
    result = CliRunner().invoke(main, [a.format(legacy=legacy, bad_connector=bad) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def explode(runtime: Any) -> Any:
    """A connector factory that fails: the connector's bug, not the harness's."""
    raise RuntimeError("boom")


def test_a_factory_that_raises_is_the_connectors_error_with_the_command_that_reproduces_it(
        two_scenarios, tmp_path: Path) -> None:
    legacy, _ = two_scenarios
    crashing = tmp_path / "crashing.yaml"
    crashing.write_text(legacy.read_text().replace("reference_impl.legacy:build", "tests.test_compare:explode"))
    out = tmp_path / "compare.json"
    result = CliRunner().invoke(main, ["compare", str(legacy), str(crashing), "--seeds", "1", "--jobs", "1",
                                       "--out", str(out)])
    assert result.exit_code == 2, result.output
    text = "".join(result.output.splitlines())
    assert "connector: factory tests.test_compare:explode raised RuntimeError: boom (at tests/test_compare.py:" in text
    assert f"reproduce with: c2c simulate {crashing} --seed 1" in text
    assert "internal error" not in text and "Traceback" not in text
    assert not out.exists() and not (tmp_path / "compare.json.crash.txt").exists()


def test_a_crashing_run_is_reported_with_the_command_that_reproduces_it(two_scenarios, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    legacy, _ = two_scenarios
    out = tmp_path / "compare.json"

    def harness_bug(scenario: Any, seed: int) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("simulator.run.simulate", harness_bug)  # --jobs 1 runs in this process
    result = CliRunner().invoke(main, ["compare", str(legacy), str(legacy), "--seeds", "1", "--jobs", "1",
                                       "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert f"reproduce with: c2c simulate {legacy} --seed 1" in "".join(result.output.splitlines())
    assert "Traceback" not in result.output and "RuntimeError: boom" in (tmp_path / "compare.json.crash.txt").read_text()
    assert not out.exists()


# -- significance in text ------------------------------------------------------------------------


def test_the_verdict_reads_the_interval_and_the_direction() -> None:
    from simulator.compare import verdict

    assert verdict((-3.0, -1.0), "lower") == "better" and verdict((1.0, 3.0), "lower") == "worse"
    assert verdict((1.0, 3.0), "higher") == "better" and verdict((-3.0, -1.0), "higher") == "worse"
    assert verdict((-1.0, 1.0), "lower") == "not significant" and verdict((0.0, 2.0), "lower") == "not significant"
    assert verdict((1.0, 3.0), None) == "differs" and verdict(None, "lower") is None


def test_compare_json_carries_the_verdict() -> None:
    a = [kpis(s, mismatches=m, p50=p) for s, m, p in ((1, 5, 100.0), (2, 7, 110.0), (3, 6, 90.0))]
    b = [kpis(s, mismatches=m, p50=p) for s, m, p in ((1, 0, 150.0), (2, 1, 170.0), (3, 0, 160.0))]
    result = compare(a, b)
    assert result["schema_version"] == "1.1"
    assert row(result, "reconciliation.mismatches")["delta"]["verdict"] == "better"
    assert row(result, "invoices.cycle_time_hours.p50")["delta"]["verdict"] == "worse"
    assert row(result, "invoices.count")["delta"]["verdict"] == "not significant"  # 0 ± 0 includes 0
    assert compare([kpis(1)], [kpis(1)])["metrics"][0]["delta"]["verdict"] is None


def test_significance_is_marked_in_plain_text_with_a_legend(two_scenarios, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped output has no colour: the B vs A column says better *, worse *, n.s. or n/a in words."""
    legacy, modern = two_scenarios
    values = {"tm_only": ((5, 100.0, 1000), (7, 110.0, 0), (6, 90.0, 2000)),
              "tm_only_reference": ((0, 150.0, 0), (1, 170.0, 2500), (0, 160.0, 0))}

    def run(scenario: Any, seed: int) -> Any:
        mismatches, p50, leakage = values[scenario.name][seed - 1]
        return SimpleNamespace(kpis=kpis(seed, mismatches=mismatches, p50=p50, leakage={"USD": leakage}))

    monkeypatch.setattr("simulator.run.simulate", run)  # --jobs 1 runs in this process
    result = CliRunner().invoke(main, ["compare", str(legacy), str(modern), "--seeds", "3", "--jobs", "1",
                                       "--out", str(tmp_path / "compare.json")])
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output  # no colour codes: the marker is the text
    lines = result.output.splitlines()

    def last_cell(label: str) -> str:  # a row's first line (the table wraps long labels at 80 columns)
        return next(line for line in lines if line.startswith(f"│ {label}")).rstrip("│ ").rsplit("│", 1)[1].strip()

    assert "B vs A" in result.output
    assert last_cell("reconciliation") == "better *"
    assert last_cell("invoice cycle") == "worse *"
    assert last_cell("revenue") == "n.s."
    assert "* significant, the paired 95% interval of B − A excludes 0" in "".join(lines)
