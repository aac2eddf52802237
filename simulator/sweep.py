"""A what-if sweep's results: one row per run, and per grid point the mean and 95% interval of each key KPI.

Pure: the functions here take the loaded :class:`~simulator.sweep_file.Sweep`
and the ``kpis.json`` dict of every run, keyed by ``(point id, seed)``, and
return plain rows and dicts; they run nothing and touch no file
(:mod:`simulator.sweep_store` writes them, ``c2c sweep`` runs the runs).
Results depend only on the sweep and the runs' KPIs: never on the number of
workers, where a run ran, or the order runs finished in. Floats are rounded
to 4 places, so the files written from them are byte-identical.

The KPIs are the curated ones of :data:`simulator.compare.METRICS`, one
column per metric and, for money and DSO, one per currency any run of the
sweep reports (:class:`KpiColumn`). Means and intervals are
:func:`simulator.compare.summarize`'s (Student's t, 95%; no interval with
one seed); a run that did not measure a KPI (no invoice, so no cycle time)
is left out of that KPI's sample, never counted as 0; but money that
zero-fills (leakage, over-billing, WIP) counts as 0 in a currency a run
does not list (no leakage in GBP is 0 leaked), as in ``c2c compare``. The
columns per currency are those of the whole sweep, so every point and
every run has the same columns.

``sweep.json`` (``SCHEMA_VERSION`` "1.0"), as :func:`sweep_summary` returns it::

    {
      "schema_version": "1.0",
      "sweep": "approval_delay",              # the sweep's name
      "description": "...",
      "scenario": "../event_driven.yaml",     # the base, as the sweep file names it (relative to that file)
      "confidence": 0.95,
      "seeds": [1, 2, 3],
      "parameters": [                         # the grid's axes, in order; the first varies slowest
        {"path": "people.approval_delay_hours", "values": [[0, 48], [24, 72]]},
        {"path": "faults.http[0].rate", "values": [0.0, 0.1]}
      ],
      "kpis": [                               # one per KPI column, in column order
        {"id": "revenue_leakage.USD", "metric": "revenue_leakage", "label": "revenue leakage",
         "unit": "money", "currency": "USD", "better": "lower"}
      ],
      "points": [
        {"id": "p01",
         "parameters": {"people.approval_delay_hours": [0, 48], "faults.http[0].rate": 0.0},
         "scenario_hash": "<sha256 hex of the point's validated scenario>",
         "runs": [{"seed": 1, "key": "<hash12>-s1"}],     # DIR/runs/<key>/kpis.json
         "kpis": {"revenue_leakage.USD": {"n": 3, "mean": 0.0, "low": 0.0, "high": 0.0,
                                          "stdev": 0.0, "half_width": 0.0}}}
      ]
    }

``low`` and ``high`` are the 95% interval's ends (``null`` with fewer than
two measured seeds; ``mean`` is ``null`` when no seed measured the KPI).
Money is in minor units of the KPI's currency; hours, days and shares as
their unit says. ``runs.csv`` and ``points.csv`` hold the same numbers flat
(:func:`run_rows`, :func:`point_rows`): their first column is
``schema_version``, then ``point``, one column per grid axis (its dotted
path; a list or mapping value as compact JSON), then, in ``runs.csv``,
``seed``, ``scenario_hash`` and one column per KPI, and in ``points.csv``,
``runs`` and ``<kpi>.mean``, ``<kpi>.low``, ``<kpi>.high`` per KPI. An
empty cell is a value not measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.compare import CONFIDENCE, METRICS, PLACES, Metric, summarize
from simulator.sweep_file import Sweep, SweepPoint

SCHEMA_VERSION = "1.0"
Runs = Mapping[tuple[str, int], dict[str, Any]]  # (point id, seed) -> kpis.json


@dataclass(frozen=True)
class KpiColumn:
    """One KPI column: a metric, for one currency when the metric is per currency."""

    metric: Metric
    currency: str | None

    @property
    def id(self) -> str:
        return self.metric.id if self.currency is None else f"{self.metric.id}.{self.currency}"

    def value(self, kpis: dict[str, Any]) -> float | None:
        """This run's value, or ``None`` when the run did not measure it."""
        raw = self.metric.extract(kpis)
        if raw is None:
            return None
        if self.currency is None:
            return _tidy(raw)
        if self.currency in raw:
            return _tidy(raw[self.currency])
        return 0 if self.metric.zero_fill else None

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "metric": self.metric.id, "label": self.metric.label, "unit": self.metric.unit,
                "currency": self.currency, "better": self.metric.better}


def run_key(point: SweepPoint, seed: int) -> str:
    """The name a run is stored under: the first 12 hex digits of its scenario's hash, and its seed."""
    return f"{point.scenario_hash[:12]}-s{seed}"


def kpi_columns(runs: Iterable[dict[str, Any]], metrics: tuple[Metric, ...] = METRICS) -> list[KpiColumn]:
    """The KPI columns of a sweep: each metric once, or once per currency that any of ``runs`` reports."""
    runs = list(runs)
    columns = []
    for metric in metrics:
        if not metric.per_currency:
            columns.append(KpiColumn(metric, None))
            continue
        currencies = {c for run in runs for c in (metric.extract(run) or {})}
        if metric.zero_fill:
            currencies |= {c for run in runs for c in run.get("invoices", {}).get("count_by_currency", {})}
        columns.extend(KpiColumn(metric, currency) for currency in sorted(currencies))
    return columns


def _tidy(value: Any) -> Any:
    if isinstance(value, float):
        rounded = round(value, PLACES)
        return 0.0 if rounded == 0 else rounded  # never -0.0
    return value


def cell(value: Any) -> str:
    """A CSV cell: empty for not measured, JSON for a list or mapping, the plain number or text otherwise."""
    if value is None:
        return ""
    if isinstance(value, (list, dict, bool)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _ordered_runs(sweep: Sweep, runs: Runs) -> list[tuple[SweepPoint, int, dict[str, Any]]]:
    missing = [(point.id, seed) for point in sweep.points for seed in sweep.seeds if (point.id, seed) not in runs]
    if missing:
        raise ValueError(f"{len(missing)} runs have no KPIs, the first point {missing[0][0]} seed {missing[0][1]}")
    return [(point, seed, runs[(point.id, seed)]) for point in sweep.points for seed in sweep.seeds]


def run_rows(sweep: Sweep, runs: Runs) -> list[list[str]]:
    """``runs.csv``: a header, then one row per run, by point then seed."""
    ordered = _ordered_runs(sweep, runs)
    columns = kpi_columns(kpis for _, _, kpis in ordered)
    rows = [["schema_version", "point", *(axis for axis, _ in sweep.axes), "seed", "scenario_hash",
             *(column.id for column in columns)]]
    for point, seed, kpis in ordered:
        rows.append([SCHEMA_VERSION, point.id, *(cell(value) for _, value in point.values), str(seed),
                     point.scenario_hash, *(cell(column.value(kpis)) for column in columns)])
    return rows


def sweep_summary(sweep: Sweep, runs: Runs) -> dict[str, Any]:
    """``sweep.json``: per grid point its parameters and the mean and 95% interval of every KPI column."""
    ordered = _ordered_runs(sweep, runs)
    columns = kpi_columns(kpis for _, _, kpis in ordered)
    points = []
    for point in sweep.points:
        point_runs = [runs[(point.id, seed)] for seed in sweep.seeds]
        summaries = {}
        for column in columns:
            measured = [value for value in (column.value(kpis) for kpis in point_runs) if value is not None]
            summary = summarize(measured).to_json()
            interval = summary["ci95"]
            summaries[column.id] = {"n": summary["n"], "mean": summary["mean"],
                                    "low": None if interval is None else interval[0],
                                    "high": None if interval is None else interval[1],
                                    "stdev": summary["stdev"], "half_width": summary["half_width"]}
        points.append({"id": point.id, "parameters": dict(point.values), "scenario_hash": point.scenario_hash,
                       "runs": [{"seed": seed, "key": run_key(point, seed)} for seed in sweep.seeds],
                       "kpis": summaries})
    return {
        "schema_version": SCHEMA_VERSION,
        "sweep": sweep.name,
        "description": sweep.description,
        "scenario": sweep.base,
        "confidence": CONFIDENCE,
        "seeds": list(sweep.seeds),
        "parameters": [{"path": axis, "values": list(values)} for axis, values in sweep.axes],
        "kpis": [column.describe() for column in columns],
        "points": points,
    }


def point_rows(summary: dict[str, Any]) -> list[list[str]]:
    """``points.csv`` from :func:`sweep_summary`'s result: a header, then one row per grid point."""
    axes = [parameter["path"] for parameter in summary["parameters"]]
    kpis = [kpi["id"] for kpi in summary["kpis"]]
    rows = [["schema_version", "point", *axes, "runs",
             *(f"{kpi}.{part}" for kpi in kpis for part in ("mean", "low", "high"))]]
    for point in summary["points"]:
        rows.append([summary["schema_version"], point["id"], *(cell(point["parameters"][axis]) for axis in axes),
                     str(len(point["runs"])),
                     *(cell(point["kpis"][kpi][part]) for kpi in kpis for part in ("mean", "low", "high"))])
    return rows
