"""The sweep's results (simulator/sweep.py): per-run rows, per-point means and intervals against hand-computed
values, the shape of sweep.json, and independence from the order runs finished in."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from simulator.sweep import SCHEMA_VERSION, kpi_columns, point_rows, run_key, run_rows, sweep_summary
from simulator.sweep_file import Sweep, load_sweep
from simulator.sweep_store import csv_text
from tests.conftest import ROOT
from tests.test_compare import kpis

SMALL = ROOT / "tests" / "scenarios" / "small.yaml"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    path = tmp_path_factory.mktemp("sweep") / "rejections.yaml"
    path.write_text(f"name: rejections\nscenario: {SMALL}\nseeds: [1, 2, 3, 4]\n"
                    f"grid:\n  people.rejection_rate: [0.0, 0.2]\n  people.approval_delay_hours: [[1, 2]]\n")
    return load_sweep(path)


def runs_of(sweep: Sweep) -> dict[tuple[str, int], dict[str, Any]]:
    """p01: mismatches 1, 2, 3, 4 over the seeds, leakage in USD on two seeds; p02: no mismatches, p50 unmeasured
    on seed 2, a GBP invoice (and a GBP DSO) on seed 4."""
    p01, p02 = (point.id for point in sweep.points)
    runs = {}
    for seed in sweep.seeds:
        runs[(p01, seed)] = kpis(seed, mismatches=seed, leakage={"USD": 1000} if seed % 2 else None)
        runs[(p02, seed)] = kpis(seed, p50=None if seed == 2 else 50.0 * seed,
                                 currencies=("USD", "GBP") if seed == 4 else ("USD",),
                                 dso={"USD": 30.0, "GBP": 45.0} if seed == 4 else None)
    return runs


def test_each_point_has_the_mean_and_interval_of_each_kpi(sweep: Sweep) -> None:
    summary = sweep_summary(sweep, runs_of(sweep))
    p01, p02 = summary["points"]
    # 1, 2, 3, 4: mean 2.5, half-width t(0.975, 3) · √(5/3) / 2 = 2.054260
    assert p01["kpis"]["reconciliation.mismatches"] == {"n": 4, "mean": 2.5, "low": 0.4457, "high": 4.5543,
                                                        "stdev": 1.291, "half_width": 2.0543}
    # leakage 1000, 0, 1000, 0 (zero-filled: the run invoices in USD and reports no leakage)
    assert p01["kpis"]["revenue_leakage.USD"]["n"] == 4 and p01["kpis"]["revenue_leakage.USD"]["mean"] == 500
    # p50 50, (not measured), 150, 200: left out, not counted as 0
    cycle = p02["kpis"]["invoices.cycle_time_hours.p50"]
    assert cycle["n"] == 3 and cycle["mean"] == pytest.approx(133.3333)
    # a GBP column because one run of the sweep invoices in GBP; no leakage listed in GBP is 0 leaked, on every run
    assert p01["kpis"]["revenue_leakage.GBP"] == {"n": 4, "mean": 0.0, "low": 0.0, "high": 0.0, "stdev": 0.0,
                                                  "half_width": 0.0}
    # DSO does not zero-fill: only seed 4 of p02 measured it in GBP; one value, no interval
    assert p02["kpis"]["receivables.dso_days.GBP"] == {"n": 1, "mean": 45.0, "low": None, "high": None,
                                                       "stdev": None, "half_width": None}
    assert p01["kpis"]["receivables.dso_days.GBP"]["n"] == 0 and p01["kpis"]["receivables.dso_days.GBP"]["mean"] is None
    assert p02["kpis"]["receivables.dso_days.USD"]["n"] == 4
    assert p02["kpis"]["invoices.count"]["mean"] == 5


def test_sweep_json_describes_itself(sweep: Sweep) -> None:
    summary = sweep_summary(sweep, runs_of(sweep))
    assert summary["schema_version"] == SCHEMA_VERSION and summary["sweep"] == "rejections"
    assert summary["seeds"] == [1, 2, 3, 4] and summary["confidence"] == 0.95
    assert summary["parameters"] == [{"path": "people.rejection_rate", "values": [0.0, 0.2]},
                                     {"path": "people.approval_delay_hours", "values": [[1, 2]]}]
    first = summary["points"][0]
    assert first["parameters"] == {"people.rejection_rate": 0.0, "people.approval_delay_hours": [1, 2]}
    assert first["scenario_hash"] == sweep.points[0].scenario_hash
    assert first["runs"][0] == {"seed": 1, "key": f"{sweep.points[0].scenario_hash[:12]}-s1"}
    ids = [kpi["id"] for kpi in summary["kpis"]]
    assert ids[:3] == ["reconciliation.mismatches", "revenue_leakage.GBP", "revenue_leakage.USD"]
    assert set(first["kpis"]) == set(ids)
    leak = next(kpi for kpi in summary["kpis"] if kpi["id"] == "revenue_leakage.USD")
    assert leak == {"id": "revenue_leakage.USD", "metric": "revenue_leakage", "label": "revenue leakage",
                    "unit": "money", "currency": "USD", "better": "lower"}


def test_runs_csv_is_one_row_per_run_with_the_swept_values(sweep: Sweep) -> None:
    rows = run_rows(sweep, runs_of(sweep))
    header = rows[0]
    assert header[:6] == ["schema_version", "point", "people.rejection_rate", "people.approval_delay_hours", "seed",
                          "scenario_hash"]
    assert len(rows) == 1 + 8
    row = dict(zip(header, rows[1], strict=True))
    assert row["schema_version"] == "1.0" and row["point"] == "p01" and row["seed"] == "1"
    assert row["people.approval_delay_hours"] == "[1,2]" and row["people.rejection_rate"] == "0.0"
    assert row["reconciliation.mismatches"] == "1" and row["revenue_leakage.USD"] == "1000"
    assert row["revenue_leakage.GBP"] == "0"  # no leakage listed in GBP: none leaked
    assert row["projects.project_setup_hours.p95"] == "2.0"
    unmeasured = dict(zip(header, rows[6], strict=True))  # p02 seed 2
    assert (unmeasured["point"], unmeasured["seed"], unmeasured["invoices.cycle_time_hours.p50"]) == ("p02", "2", "")


def test_points_csv_flattens_sweep_json(sweep: Sweep) -> None:
    summary = sweep_summary(sweep, runs_of(sweep))
    rows = point_rows(summary)
    assert rows[0][:5] == ["schema_version", "point", "people.rejection_rate", "people.approval_delay_hours", "runs"]
    assert rows[0][5:8] == ["reconciliation.mismatches.mean", "reconciliation.mismatches.low",
                            "reconciliation.mismatches.high"]
    assert rows[1][:8] == ["1.0", "p01", "0.0", "[1,2]", "4", "2.5", "0.4457", "4.5543"]
    assert len(rows) == 3 and all(len(row) == len(rows[0]) for row in rows)


def test_results_do_not_depend_on_the_order_runs_finished_in(sweep: Sweep) -> None:
    runs = runs_of(sweep)
    first = (csv_text(run_rows(sweep, runs)), json.dumps(sweep_summary(sweep, runs), sort_keys=True))
    items = list(runs.items())
    random.Random(5).shuffle(items)
    shuffled = dict(items)
    assert (csv_text(run_rows(sweep, shuffled)), json.dumps(sweep_summary(sweep, shuffled), sort_keys=True)) == first


def test_a_missing_run_is_an_error_not_a_smaller_sample(sweep: Sweep) -> None:
    runs = runs_of(sweep)
    del runs[("p02", 3)]
    with pytest.raises(ValueError, match="point p02 seed 3"):
        sweep_summary(sweep, runs)


def test_columns_cover_every_currency_of_the_sweep() -> None:
    columns = [column.id for column in kpi_columns([kpis(1), kpis(2, dso={"JPY": 12.0}, currencies=("JPY",))])]
    assert "receivables.dso_days.JPY" in columns and "receivables.dso_days.USD" in columns
    assert "unbilled_wip.last_month_end.JPY" in columns


def test_run_keys_name_the_scenario_and_the_seed(sweep: Sweep) -> None:
    point = sweep.points[1]
    assert run_key(point, 12) == f"{point.scenario_hash[:12]}-s12"


def test_the_example_sweep_is_documented_where_it_lives() -> None:
    text = (ROOT / "README.md").read_text()
    assert "c2c sweep scenarios/sweeps/approval_delay.yaml" in text
    assert Path(ROOT / "scenarios" / "sweeps" / "approval_delay.yaml").exists()
