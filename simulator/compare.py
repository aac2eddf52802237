"""Two what-ifs side by side: KPIs across seeds, with 95% intervals and the delta.

Pure: :func:`compare` takes the ``kpis.json`` dicts of scenario A's and
scenario B's runs and returns the comparison; it runs nothing and touches
no file (``c2c compare`` in :mod:`simulator.cli` does the running, the
table and the JSON writing). The same inputs give the same output, in the
same order, whatever order the runs finished in.

For each curated KPI (:data:`METRICS`; money and DSO one row per currency)
it reports, per scenario, the mean across seeds and a 95% confidence
interval from Student's t distribution (``mean ± t(0.975, n-1) · s/√n``;
with one seed, no interval), and the delta B − A of the means. Both
scenarios run the same seeds, so the delta's interval is the paired one:
the t-interval of the per-seed differences B_i − A_i. A delta is
*significant* when that interval excludes 0: the difference is then not
explained by seed-to-seed noise at 95% confidence; its :func:`verdict`
says whether B is better or worse. An interval that includes 0 shows no
difference at these seeds, which is not proof of none (more seeds narrow
it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from simulator.scenario import CURRENCY_MINOR_UNITS

SCHEMA_VERSION = "1.1"  # 1.1: delta.verdict
CONFIDENCE = 0.95
PLACES = 4  # rounding of every float in the output, so the JSON is byte-identical for the same inputs

# -- Student's t ---------------------------------------------------------------------------


def _two_sided_mass(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with ``df`` degrees of freedom (Abramowitz & Stegun 26.7.3 and 26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    if df % 2 == 1:
        total, term = 0.0, 1.0
        if df > 1:
            total = term
            for k in range(3, df - 1, 2):  # 1 + 2/3 cos² + 2·4/(3·5) cos⁴ + ...
                term *= (k - 1) / k * cos2
                total += term
        return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    total, term = 1.0, 1.0
    for k in range(2, df - 1, 2):  # 1 + 1/2 cos² + 1·3/(2·4) cos⁴ + ...
        term *= (k - 1) / k * cos2
        total += term
    return math.sin(theta) * total


def t_critical(df: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided critical value: t such that P(|T| <= t) = ``confidence`` (t(0.975, df) for 95%)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    low, high = 0.0, 1.0
    while _two_sided_mass(high, df) < confidence:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if _two_sided_mass(mid, df) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2


@dataclass(frozen=True)
class Summary:
    """Mean and 95% interval of a sample (no interval for fewer than two values)."""

    n: int
    mean: float | None
    stdev: float | None
    half_width: float | None

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.mean is None or self.half_width is None:
            return None
        return (self.mean - self.half_width, self.mean + self.half_width)

    def to_json(self) -> dict[str, Any]:
        interval = self.interval
        return {"n": self.n, "mean": _round(self.mean), "stdev": _round(self.stdev),
                "ci95": None if interval is None else [_round(interval[0]), _round(interval[1])],
                "half_width": _round(self.half_width)}


def summarize(values: Iterable[float]) -> Summary:
    sample = [float(v) for v in values]
    n = len(sample)
    if n == 0:
        return Summary(0, None, None, None)
    mean = math.fsum(sample) / n
    if n == 1:
        return Summary(1, mean, None, None)
    stdev = math.sqrt(math.fsum((v - mean) ** 2 for v in sample) / (n - 1))
    return Summary(n, mean, stdev, t_critical(n - 1) * stdev / math.sqrt(n))


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    rounded = round(value, PLACES)
    return 0.0 if rounded == 0 else rounded  # never -0.0


# -- the curated KPIs ----------------------------------------------------------------------

Extract = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Metric:
    """One KPI row (or one row per currency when ``per_currency``).

    ``extract`` returns a number, ``None`` (not measured in that run) or,
    per currency, a ``{currency: number}`` dict. ``zero_fill``: a currency
    missing from a run's dict counts as 0 there (leakage, WIP) rather than
    as not measured (DSO). ``better`` says which way is good, for display.
    """

    id: str
    label: str
    unit: str  # count | money | hours | share | days
    extract: Extract
    better: str | None = "lower"
    per_currency: bool = False
    zero_fill: bool = False


def _get(*path: str, scale: float = 1.0) -> Extract:
    def extract(kpis: dict[str, Any]) -> Any:
        value: Any = kpis
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return None if value is None else value * scale if scale != 1.0 else value
    return extract


def _wip_at_last_month_end(kpis: dict[str, Any]) -> dict[str, int] | None:
    snapshots = kpis.get("unbilled_wip") or []
    return snapshots[-1]["by_currency"] if snapshots else None


def _api_total(field: str) -> Extract:
    return lambda kpis: sum(system.get(field, 0) for system in kpis["api_calls"].values())


METRICS: tuple[Metric, ...] = (
    Metric("reconciliation.mismatches", "reconciliation mismatches", "count", _get("reconciliation", "mismatches")),
    Metric("revenue_leakage", "revenue leakage", "money", _get("revenue_leakage"), per_currency=True, zero_fill=True),
    Metric("over_billing", "over-billing", "money", _get("over_billing"), per_currency=True, zero_fill=True),
    Metric("duplicate_customers", "duplicate ERP customers", "count",
           lambda k: k["reconciliation"]["mismatches_by_rule"].get("duplicate_customer", 0)),
    Metric("invoices.count", "invoices posted", "count", _get("invoices", "count"), better=None),
    Metric("invoices.disputed", "disputed invoices", "count", _get("invoices", "disputed")),
    Metric("invoices.cycle_time_hours.p50", "invoice cycle time p50 (approval → posted)", "hours",
           _get("invoices", "cycle_time_hours", "p50")),
    Metric("invoices.cycle_time_hours.p95", "invoice cycle time p95 (approval → posted)", "hours",
           _get("invoices", "cycle_time_hours", "p95")),
    Metric("invoices.billing_lag.share", "billing lag (share of lines a period late)", "share",
           _get("invoices", "billing_lag", "share")),
    Metric("unbilled_wip.last_month_end", "unbilled WIP, last month end", "money", _wip_at_last_month_end,
           per_currency=True, zero_fill=True),
    Metric("receivables.dso_days", "DSO", "days", _get("receivables", "dso_days"), per_currency=True),
    Metric("projects.project_setup_hours.p95", "project setup p95 (signed → PSA project)", "hours",
           _get("projects", "project_setup_minutes", "p95", scale=1 / 60)),
    Metric("sync_latency.psa_approval_to_erp_charge_hours.p95", "sync latency p95 (approval → charge)", "hours",
           _get("sync_latency", "psa_approval_to_erp_charge_minutes", "p95", scale=1 / 60)),
    Metric("api_calls.total", "API calls by the connector", "count", _api_total("calls"), better=None),
    Metric("api_calls.rate_limited_429", "429 responses", "count", _api_total("rate_limited_429")),
)


# -- comparing -------------------------------------------------------------------------------

BETTER, WORSE, DIFFERS, NOT_SIGNIFICANT = "better", "worse", "differs", "not significant"


def verdict(interval: tuple[float, float] | None, better: str | None) -> str | None:
    """What the paired interval of B − A says: ``better`` or ``worse`` (B, when it excludes 0 and the metric has
    a direction), ``differs`` (excludes 0, no direction), ``not significant`` (includes 0), ``None`` (no interval)."""
    if interval is None:
        return None
    low, high = interval
    if low <= 0 <= high:
        return NOT_SIGNIFICANT
    if better is None:
        return DIFFERS
    b_is_lower = high < 0
    return BETTER if b_is_lower == (better == "lower") else WORSE



def _by_seed(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seeds = [run["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"each seed may appear once per scenario, got seeds {sorted(seeds)}")
    return sorted(runs, key=lambda run: run["seed"])


def _rows(metric: Metric, a: list[dict[str, Any]], b: list[dict[str, Any]]):
    """(row id, currency, {seed: value} for A, {seed: value} for B) for each row of ``metric``."""
    raw_a = {run["seed"]: metric.extract(run) for run in a}
    raw_b = {run["seed"]: metric.extract(run) for run in b}
    if not metric.per_currency:
        yield metric.id, None, _present(raw_a), _present(raw_b)
        return
    currencies = {c for raw in (raw_a, raw_b) for value in raw.values() if value for c in value}
    if metric.zero_fill:  # 0 leakage in a currency the firm invoices in is a result worth a row
        currencies |= {c for run in (*a, *b) for c in run.get("invoices", {}).get("count_by_currency", {})}
    for currency in sorted(currencies):
        def pick(raw: dict[int, Any], currency: str = currency) -> dict[int, float]:
            picked = {}
            for seed, value in raw.items():
                if value is not None and currency in value:
                    picked[seed] = value[currency]
                elif metric.zero_fill and value is not None:
                    picked[seed] = 0
            return picked
        yield f"{metric.id}.{currency}", currency, pick(raw_a), pick(raw_b)


def _present(raw: dict[int, Any]) -> dict[int, float]:
    return {seed: value for seed, value in raw.items() if value is not None}


def compare(a_runs: list[dict[str, Any]], b_runs: list[dict[str, Any]], *, a_name: str | None = None,
            b_name: str | None = None, metrics: tuple[Metric, ...] = METRICS) -> dict[str, Any]:
    """The comparison of two scenarios' runs (``kpis.json`` dicts, one per seed), as a JSON-ready dict.

    Each row: ``a`` and ``b`` (n, mean, stdev, ci95, half_width), and
    ``delta`` (``mean`` = mean B − mean A; ``ci95`` and ``half_width`` the
    paired t-interval over the seeds both measured; ``excludes_zero``
    whether that interval lies wholly on one side of 0; ``verdict``: see
    :func:`verdict`).
    """
    if not a_runs or not b_runs:
        raise ValueError("each scenario needs at least one run")
    a, b = _by_seed(a_runs), _by_seed(b_runs)
    rows = []
    for metric in metrics:
        for row_id, currency, values_a, values_b in _rows(metric, a, b):
            sa = summarize(values_a[s] for s in sorted(values_a))
            sb = summarize(values_b[s] for s in sorted(values_b))
            paired = summarize(values_b[s] - values_a[s] for s in sorted(values_a.keys() & values_b.keys()))
            delta_mean = None if sa.mean is None or sb.mean is None else sb.mean - sa.mean
            # judged on the interval as written to the JSON, so a reader (or a gate) reading ci95 agrees
            interval = None if paired.interval is None else (_round(paired.interval[0]), _round(paired.interval[1]))
            rows.append({
                "id": row_id, "label": metric.label, "unit": metric.unit, "currency": currency,
                "better": metric.better, "a": sa.to_json(), "b": sb.to_json(),
                "delta": {"mean": _round(delta_mean), "n_pairs": paired.n,
                          "ci95": None if interval is None else list(interval),
                          "half_width": _round(paired.half_width),
                          "excludes_zero": None if interval is None else interval[0] > 0 or interval[1] < 0,
                          "verdict": verdict(interval, metric.better)},
            })
    return {
        "schema_version": SCHEMA_VERSION,
        "confidence": CONFIDENCE,
        "a": {"scenario": a_name or a[0].get("scenario"), "seeds": [run["seed"] for run in a]},
        "b": {"scenario": b_name or b[0].get("scenario"), "seeds": [run["seed"] for run in b]},
        "metrics": rows,
    }


# -- display (plain strings; the CLI puts them in a table) -----------------------------------

def format_number(value: float, unit: str, currency: str | None = None, signed: bool = False) -> str:
    """A value in its unit: money from minor units (``USD 1,234.56``), hours, days, shares as percent."""
    sign = "+" if signed and value > 0 else ""
    if unit == "money":
        places = CURRENCY_MINOR_UNITS.get(currency or "", 2)
        text = f"{sign}{value / 10 ** places:,.{places}f}"
        return f"{currency} {text}" if currency else text
    if unit == "share":
        return f"{sign}{value * 100:,.1f}%"
    if unit == "hours":
        return f"{sign}{value:,.1f} h"
    if unit == "days":
        return f"{sign}{value:,.1f} d"
    return f"{sign}{value:,.0f}" if float(value).is_integer() else f"{sign}{value:,.1f}"


def _plus_minus(half_width: float | None, unit: str, currency: str | None) -> str:
    if half_width is None:
        return ""
    if unit == "money":
        return " ± " + format_number(half_width, unit)  # the currency is already on the mean
    if unit == "share":
        return f" ± {half_width * 100:,.1f} pp"
    return " ± " + format_number(half_width, unit, currency)


def format_summary(summary: dict[str, Any], unit: str, currency: str | None) -> str:
    """``mean ± half-width`` of one scenario's row (``n/a`` when no seed measured it)."""
    if summary["mean"] is None:
        return "n/a"
    return format_number(summary["mean"], unit, currency) + _plus_minus(summary["half_width"], unit, currency)


def format_delta(delta: dict[str, Any], unit: str, currency: str | None) -> str:
    if delta["mean"] is None:
        return "n/a"
    return format_number(delta["mean"], unit, currency, signed=True) + _plus_minus(delta["half_width"], unit, currency)
