"""What the report shows for a ``c2c compare`` output: the KPI table and each KPI's A and B with their intervals.

Pure: :func:`compare_view` takes the parsed ``compare.json``
(:class:`~simulator.report_html.inputs.Comparison`) and returns plain
values; the table's text is :mod:`simulator.compare`'s own formatting, so
the report and the terminal say the same numbers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.compare import format_delta, format_summary
from simulator.report_html.inputs import CompareRow, Comparison, Summary
from simulator.scenario import CURRENCY_MINOR_UNITS


def display(value: float, unit: str, currency: str | None) -> float:
    """A value in the unit a chart's axis shows: money in major units, shares in percent, the rest as they are."""
    if unit == "money":
        return value / 10 ** CURRENCY_MINOR_UNITS.get(currency or "", 2)
    if unit == "share":
        return value * 100
    return value


def axis_unit(unit: str, currency: str | None) -> str:
    return {"money": currency or "money", "share": "%", "hours": "hours", "days": "days"}.get(unit, "count")


@dataclass(frozen=True)
class Estimate:
    """A mean and its 95% interval, in display units (no interval with one seed)."""

    mean: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class CompareLine:
    label: str
    unit: str  # the axis unit
    a: str
    b: str
    delta: str
    tone: str  # "good", "bad" or "": B better, worse, or no interval that excludes 0
    a_estimate: Estimate
    b_estimate: Estimate


@dataclass(frozen=True)
class CompareView:
    title: str
    subtitle: str
    a_name: str
    b_name: str
    lines: list[CompareLine]


def _estimate(summary: Summary, unit: str, currency: str | None) -> Estimate:
    if summary.mean is None:
        return Estimate(None, None, None)
    low, high = summary.ci95 if summary.ci95 is not None else (None, None)
    shown = [None if v is None else display(v, unit, currency) for v in (summary.mean, low, high)]
    return Estimate(*shown)


def _tone(row: CompareRow) -> str:
    if not row.delta.excludes_zero or not row.better or row.delta.mean is None:
        return ""
    b_is_lower = row.delta.mean < 0
    return "good" if b_is_lower == (row.better == "lower") else "bad"


def compare_view(comparison: Comparison) -> CompareView:
    a = comparison.a.scenario or "A"
    b = comparison.b.scenario or "B"
    seeds = comparison.a.seeds
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}" if seeds else "no seeds"
    lines = []
    for row in comparison.metrics:
        as_dict = {"mean": row.a.mean, "half_width": row.a.half_width}
        bs_dict = {"mean": row.b.mean, "half_width": row.b.half_width}
        delta = {"mean": row.delta.mean, "half_width": row.delta.half_width}
        label = row.label + (f" ({row.currency})" if row.currency else "")
        lines.append(CompareLine(label, axis_unit(row.unit, row.currency), format_summary(as_dict, row.unit, row.currency),
                                 format_summary(bs_dict, row.unit, row.currency),
                                 format_delta(delta, row.unit, row.currency), _tone(row),
                                 _estimate(row.a, row.unit, row.currency), _estimate(row.b, row.unit, row.currency)))
    confidence = f"{comparison.confidence:.0%}"
    return CompareView(f"A {a} vs B {b}", f"{span} · mean ± {confidence} Student-t interval across seeds; "
                                          f"Δ B − A ± the paired interval", a, b, lines)
