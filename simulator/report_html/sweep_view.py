"""What the report shows for a ``c2c sweep`` output: each KPI against the swept parameter, with its 95% band.

Pure: :func:`sweep_view` takes the parsed ``sweep.json``
(:class:`~simulator.report_html.inputs.SweepSummary`) and returns one
:class:`SweepPanel` per KPI. The x axis is the grid's first parameter (the
one that varies slowest); each combination of the other parameters is its
own series, so a two-axis grid reads as one line per value of the second.
A parameter whose values are not all numbers (a ``[low, high]`` pair, a
mapping) is shown as evenly spaced categories, labelled with the values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from simulator.report_html.compare_view import axis_unit, display
from simulator.report_html.inputs import SweepInterval, SweepKpi, SweepSummary


def label_of(value: Any) -> str:
    """A parameter value as the sweep file would write it: numbers plain, lists and mappings as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


@dataclass(frozen=True)
class SweepSeries:
    name: str  # the other parameters' values ("" when the grid has one axis)
    x: list[float]
    mean: list[float | None]
    low: list[float | None]
    high: list[float | None]


@dataclass(frozen=True)
class SweepPanel:
    kpi: str  # its id
    title: str
    unit: str  # the axis unit
    series: list[SweepSeries]


@dataclass(frozen=True)
class SweepView:
    title: str
    subtitle: str
    parameter: str  # the x axis
    ticks: list[tuple[float, str]]  # x position, label
    others: list[str]  # the other axes, named in each series
    panels: list[SweepPanel]
    points: int


def _shown(result: SweepInterval | None, part: str, kpi: SweepKpi) -> float | None:
    value = getattr(result, part) if result is not None else None
    return None if value is None else display(value, kpi.unit, kpi.currency)


def sweep_view(summary: SweepSummary) -> SweepView:
    axis, *other_axes = summary.parameters
    values = axis.values
    numeric = _numeric(values)
    position = {label_of(v): (float(v) if numeric else float(i)) for i, v in enumerate(values)}
    ticks = [(position[label_of(v)], label_of(v)) for v in values]
    groups: dict[str, list] = {}
    for point in summary.points:
        name = ", ".join(f"{other.path} = {label_of(point.parameters.get(other.path))}" for other in other_axes)
        groups.setdefault(name, []).append(point)
    panels = []
    for kpi in summary.kpis:
        series = []
        for name, points in groups.items():
            located = sorted(((position.get(label_of(p.parameters.get(axis.path))), p) for p in points),
                             key=lambda pair: (pair[0] is None, pair[0] or 0.0))
            located = [(x, p) for x, p in located if x is not None]
            results = [p.kpis.get(kpi.id) for _, p in located]
            parts = {part: [_shown(r, part, kpi) for r in results] for part in ("mean", "low", "high")}
            series.append(SweepSeries(name, [x for x, _ in located], parts["mean"], parts["low"], parts["high"]))
        title = kpi.label + (f" ({kpi.currency})" if kpi.currency else "")
        panels.append(SweepPanel(kpi.id, title, axis_unit(kpi.unit, kpi.currency), series))
    seeds = summary.seeds
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}" if seeds else "no seeds"
    subtitle = (f"{len(summary.points)} grid points, each on {span}; mean and {summary.confidence:.0%} Student-t "
                f"interval across seeds")
    return SweepView(f"sweep {summary.sweep}" + (f": {summary.description}" if summary.description else ""),
                     subtitle, axis.path, ticks, [o.path for o in other_axes], panels, len(summary.points))
