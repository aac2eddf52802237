"""The report's charts: matplotlib figures rendered to inline SVG, byte-identical for the same data.

Each function takes plain values from a view module and returns an
``<svg>`` element as text, ready to inline in HTML: no XML prolog, no
DOCTYPE, no creation date, and ids that cannot clash between the charts of
one page (each chart salts its ids with its own name, ``svg.hashsalt``).
Text stays text (``svg.fonttype: none``), so the page is small, its words
can be searched and printed, and layout uses matplotlib's own DejaVu Sans
metrics whatever fonts the machine has. Only the object-oriented API is
used (no pyplot): no global figure state, no GUI backend, nothing left open.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import textwrap
from collections.abc import Callable
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simulator.report_html.compare_view import CompareView
from simulator.report_html.contract_timeline import LANES, Timeline
from simulator.report_html.run_view import Distribution, RunView, WipPoint
from simulator.report_html.sweep_view import SweepView

INK, MUTED, GRID = "#1f2933", "#616e7c", "#d9dee4"
GOOD, BAD = "#2f855a", "#c53030"
PALETTE = ("#2b6cb0", "#dd6b20", "#2f855a", "#9f7aea", "#c53030", "#319795", "#b7791f", "#d53f8c", "#4a5568")
A_COLOR, B_COLOR = "#2b6cb0", "#dd6b20"

STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8.5,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "path.simplify": False,
}

_OWN_ID = re.compile(r'(\bid="|url\(#|xlink:href="#)')
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def render(name: str, draw: Callable[[Figure], None], width: float, height: float, label: str,
           spacing: tuple[float, float] = (0.25, 0.6)) -> str:
    """Draw a ``width`` × ``height`` inch figure with ``draw`` and return it as an inline ``<svg>`` element.

    Axes are spaced by ``spacing`` (``wspace``, ``hspace``) and the figure cropped to what was drawn
    (``bbox_inches="tight"``): a third of the time matplotlib's constrained layout takes, for a grid of panels.
    Every ``id`` is prefixed with the chart's name, so the charts of one page never share one.
    """
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"c2c-report-{name}"}):
        figure = Figure(figsize=(width, height))
        FigureCanvasSVG(figure)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.9, wspace=spacing[0], hspace=spacing[1])
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight",
                       pad_inches=0.06)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = _OWN_ID.sub(lambda m: f'{m.group(1)}{name}-', text)
    match = _SIZE.search(text)
    if match is not None:  # scale with the page, never past the size it was drawn at
        pixels = round(float(match.group(2)) * 4 / 3)
        text = (text[:match.start()] + f'<svg{match.group(1)} class="chart" data-chart="{name}" role="img" '
                f'aria-label="{_attr(label)}" style="max-width:{pixels}px"' + text[match.end():])
    return text.strip() + "\n"


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _number(value: float, _position: Any = None) -> str:
    """A tick label: thousands separated from 100 up, three significant digits below."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _dates(ax: Any) -> None:
    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _x(t: float) -> float:
    """A simulated epoch time as a matplotlib date number (UTC)."""
    return float(date2num(dt.datetime.fromtimestamp(t, tz=dt.UTC).replace(tzinfo=None)))


# -- one run ---------------------------------------------------------------------------------------


def wip_chart(wip: dict[str, list[WipPoint]]) -> str:
    columns = min(2, max(1, len(wip)))
    rows = max(1, math.ceil(len(wip) / columns))

    def draw(figure: Figure) -> None:
        if not wip:
            _empty(figure.add_subplot(), "no unbilled work at any month end")
            return
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for ax, (currency, points) in zip(axes, wip.items(), strict=False):
            x = list(range(len(points)))
            ax.plot(x, [p.unbilled for p in points], marker="o", color=PALETTE[0], label="unbilled WIP")
            if any(p.held_over_cap for p in points):
                ax.plot(x, [p.held_over_cap for p in points], marker="s", linestyle="--", color=PALETTE[1],
                        label="held over caps")
            many = len(points) > 4  # a year of month ends: the month only, turned
            ax.set_xticks(x, [p.month_end.strftime("%Y-%m") if many else p.month_end.isoformat() for p in points],
                          rotation=45 if many else 0, ha="right" if many else "center")
            ax.set_title(f"unbilled WIP at each month end ({currency})")
            ax.set_ylabel(currency)
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter("{x:,.0f}")
            ax.legend(loc="upper left")
        for ax in axes[len(wip):]:
            ax.set_visible(False)

    return render("wip", draw, 4.8 if columns == 1 else 9.6, 2.8 * rows,
                  "unbilled WIP at each month end, per currency", spacing=(0.3, 0.7))


def _in_unit(minutes: list[float]) -> tuple[float, str]:
    """The divisor and name of the unit that reads best for these minutes."""
    largest = max(minutes, default=0.0)
    if largest < 2:
        return 1 / 60, "seconds"
    if largest < 180:
        return 1.0, "minutes"
    if largest < 72 * 60:
        return 60.0, "hours"
    return 1440.0, "days"


def _histogram(ax: Any, samples: list[float], color: str) -> None:
    import numpy as np

    values = np.asarray(samples, dtype=float)
    if float(values.min()) == float(values.max()):
        bins: Any = 1
        low = float(values.min())
        span = abs(low) * 0.1 or 1.0
        ax.hist(values, bins=bins, range=(low - span / 2, low + span / 2), color=color, alpha=0.85,
                histtype="stepfilled")
    else:
        bins = min(40, max(8, int(math.sqrt(len(values)))))
        ax.hist(values, bins=bins, color=color, alpha=0.85, histtype="stepfilled")


def _percentile_lines(ax: Any, kpi: Any, scale: float, label: str) -> None:
    if kpi is None or not kpi.count:
        return
    for value, style, name in ((kpi.p50, "-", "p50"), (kpi.p95, "--", "p95")):
        if value is not None:
            ax.axvline(value / scale, color=INK, linestyle=style, linewidth=1.1, label=f"{label} {name}")


def cycle_chart(cycle: Distribution) -> str:
    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        ax.set_title("invoice cycle time per billed item")
        if not cycle.samples:
            _empty(ax, "no approved item was marked billed in the PSA")
            return
        _histogram(ax, cycle.samples, PALETTE[0])
        _percentile_lines(ax, cycle.kpi, 1.0, "kpis.json")
        ax.set_xlabel(f"hours from approval to the PSA showing it billed (n={len(cycle.samples):,})")
        ax.set_ylabel("items")
        ax.legend(loc="upper right")

    return render("cycle-time", draw, 6.4, 2.8, "distribution of invoice cycle time per billed item")


def pickup_chart(pickup: list[Distribution]) -> str:
    def draw(figure: Figure) -> None:
        axes = figure.subplots(1, len(pickup), squeeze=False)[0]
        for ax, dist, color in zip(axes, pickup, PALETTE, strict=False):
            ax.set_title("\n".join(textwrap.wrap(dist.name, 30)), fontsize=8.5)
            if not dist.samples:
                _empty(ax, "none read" if dist.unmatched else "no such change")
                continue
            scale, unit = _in_unit(dist.samples + ([dist.kpi.p95] if dist.kpi and dist.kpi.p95 else []))
            _histogram(ax, [s / scale for s in dist.samples], color)
            _percentile_lines(ax, dist.kpi, scale, "to ERP")
            never = f"\n{dist.unmatched:,} never read" if dist.unmatched else ""
            same = (f", all {dist.samples[0] / scale:,.3g} {unit}"
                    if min(dist.samples) == max(dist.samples) else "")
            ax.text(0.98, 0.62, f"n={len(dist.samples):,}{same}{never}", ha="right", va="top", fontsize=7,
                    color=MUTED, transform=ax.transAxes)
            ax.set_xlabel(f"{unit} to the connector's read")
            ax.legend(loc="upper right", fontsize=7)
        axes[0].set_ylabel("changes")

    return render("sync-latency", draw, 9.6, 2.9, "distribution of sync latency per source change")


def money_chart(view: RunView) -> str:
    def draw(figure: Figure) -> None:
        left, right = figure.subplots(1, 2, width_ratios=(1, 1.4))
        bars = [(f"over-billing · {c}", v, PALETTE[1]) for c, v in sorted(view.over_billing.items())][::-1]
        bars += [(f"leakage · {c}", v, BAD) for c, v in sorted(view.leakage.items())][::-1]
        left.set_title("revenue leakage and over-billing")
        if bars:
            left.barh(range(len(bars)), [v for _, v, _ in bars], height=0.6, color=[color for *_, color in bars])
            left.set_yticks(range(len(bars)), [label for label, *_ in bars])
            left.set_ylim(-0.7, max(len(bars), 3) - 0.3)
            left.xaxis.set_major_formatter("{x:,.0f}")
            left.xaxis.set_major_locator(MaxNLocator(4))
            left.set_xlabel("major units of the currency named")
        else:
            _empty(left, "no leakage, no over-billing")
        right.set_title("money at stake in mismatches, by rule")
        if view.stake_by_rule:
            shown = view.stake_by_rule[:10][::-1]
            right.barh(range(len(shown)), [v for _, v in shown], height=0.6, color=PALETTE[4])
            right.set_yticks(range(len(shown)), [label for label, _ in shown])
            right.set_ylim(-0.7, max(len(shown), 3) - 0.3)
            right.xaxis.set_major_formatter("{x:,.0f}")
            right.xaxis.set_major_locator(MaxNLocator(5))
            right.set_xlabel("major units of the currency named")
        else:
            _empty(right, "no mismatch puts money at stake")

    return render("money", draw, 9.6, 2.9, "revenue leakage, over-billing and money at stake by rule",
                  spacing=(0.7, 0.3))


def activity_chart(view: RunView) -> str:
    def draw(figure: Figure) -> None:
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(1.3, 1))
        x = [float(date2num(day)) for day in view.days]
        top.set_title("the connector's API calls per day")
        if x:
            for (system, counts), color in zip(view.calls.items(), PALETTE, strict=False):
                top.plot(x, counts, color=color, linewidth=1.1, label=system.upper())
            top.plot(x, view.failed_calls, color=BAD, linewidth=1.1, linestyle="--", label="failed")
            top.set_ylabel("calls")
            top.legend(loc="upper left", ncols=len(view.calls) + 1)
            _dates(top)
        else:
            _empty(top, "no record in the trace")
        bottom.set_title("faults injected per day")
        if view.faults and x:
            base = [0] * len(x)
            for (kind, counts), color in zip(view.faults.items(), PALETTE, strict=False):
                top_of = [b + c for b, c in zip(base, counts, strict=True)]  # stacked, one filled step shape per kind
                bottom.fill_between(x, base, top_of, step="mid", color=color, linewidth=0, label=kind.replace("_", " "))
                base = top_of
            bottom.set_ylabel("faults")
            bottom.legend(loc="upper left", ncols=min(4, len(view.faults)), fontsize=7)
            _dates(bottom)
        else:  # the x axis is shared with the calls: leave its ticks alone
            bottom.text(0.5, 0.5, "no fault injected", ha="center", va="center", color=MUTED,
                        transform=bottom.transAxes)
            bottom.set_yticks([])

    return render("activity", draw, 9.6, 4.0, "API calls and injected faults per day", spacing=(0.2, 0.35))


def timeline_chart(timeline: Timeline) -> str:
    lanes = [lane for lane in LANES if any(e.lane == lane for e in timeline.entries)] or ["contract"]

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        ax.set_title(f"contract {timeline.contract}")
        row = {lane: len(lanes) - 1 - i for i, lane in enumerate(lanes)}
        for i, lane in enumerate(lanes):
            entries = [e for e in timeline.entries if e.lane == lane]
            color = PALETTE[i % len(PALETTE)]
            if lane == "billing runs":
                for entry in entries:
                    ax.axvline(_x(entry.t), color=GRID, linewidth=1.2, zorder=0)
                ax.scatter([_x(e.t) for e in entries], [row[lane]] * len(entries), marker="|", s=160, color=MUTED)
                continue
            ax.scatter([_x(e.t) for e in entries], [row[lane]] * len(entries), marker="o", s=22, color=color,
                       alpha=0.8, edgecolors="none", zorder=3)
            if lane == "contract":  # name each moment once, what happened at the same time together
                moments: dict[float, list[str]] = {}
                for entry in entries:
                    moments.setdefault(entry.t, []).append(entry.what)
                for n, (t, what) in enumerate(moments.items()):
                    ax.annotate(", ".join(what), (_x(t), row[lane]), xytext=(0, 6 + 9 * (n % 2)),
                                textcoords="offset points", ha="center", fontsize=7.5, color=INK)
        ax.set_yticks(list(row.values()), list(row))
        ax.set_ylim(-0.6, len(lanes) - 0.2)
        ax.grid(axis="y", visible=False)
        if timeline.entries:
            _dates(ax)

    height = 1.2 + 0.45 * max(len(lanes), 5)  # the lanes it has (a row each), at least as tall as five
    return render("timeline", draw, 9.6, height, f"timeline of contract {timeline.contract}")


# -- a comparison ------------------------------------------------------------------------------------


def compare_chart(view: CompareView) -> str:
    lines = [line for line in view.lines if line.a_estimate.mean is not None or line.b_estimate.mean is not None]
    columns = 3
    rows = max(1, math.ceil(len(lines) / columns))

    def draw(figure: Figure) -> None:
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for ax, line in zip(axes, lines, strict=False):
            ax.set_title("\n".join(textwrap.wrap(line.label, 38)), fontsize=8, fontweight="normal")
            for y, estimate, color in ((1, line.a_estimate, A_COLOR), (0, line.b_estimate, B_COLOR)):
                if estimate.mean is None:
                    continue
                if estimate.low is not None and estimate.high is not None:
                    ax.plot([estimate.low, estimate.high], [y, y], color=color, linewidth=2.2, solid_capstyle="butt")
                ax.plot([estimate.mean], [y], marker="o", color=color, markersize=5)
            ax.set_yticks([1, 0], ["A", "B"])
            ax.set_ylim(-0.7, 1.7)
            ax.set_xlabel(line.unit, fontsize=7.5)
            ax.xaxis.set_major_formatter(_number)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.tick_params(axis="x", labelsize=7)
            ax.grid(axis="y", visible=False)
            if line.tone:
                ax.spines["left"].set_color(GOOD if line.tone == "good" else BAD)
                ax.spines["left"].set_linewidth(2)
        for ax in axes[len(lines):]:
            ax.set_visible(False)

    return render("compare", draw, 9.6, 0.3 + 1.75 * rows, spacing=(0.3, 1.2), label=
                  f"each KPI's mean and 95% interval for A ({view.a_name}) and B ({view.b_name})")


# -- a sweep -----------------------------------------------------------------------------------------


def sweep_chart(view: SweepView) -> str:
    columns = 2 if len(view.panels) > 1 else 1
    rows = max(1, math.ceil(len(view.panels) / columns))

    def draw(figure: Figure) -> None:
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        positions = [x for x, _ in view.ticks]
        labels = [label for _, label in view.ticks]
        for ax, panel in zip(axes, view.panels, strict=False):
            ax.set_title("\n".join(textwrap.wrap(panel.title, 50)), fontsize=8.5)
            for series, color in zip(panel.series, PALETTE, strict=False):
                measured = [(x, m, lo, hi) for x, m, lo, hi in zip(series.x, series.mean, series.low, series.high,
                                                                    strict=True) if m is not None]
                if not measured:
                    continue
                ax.plot([p[0] for p in measured], [p[1] for p in measured], marker="o", markersize=3.5,
                        color=color, label=series.name or None)
                band = [p for p in measured if p[2] is not None and p[3] is not None]
                if band:
                    ax.fill_between([p[0] for p in band], [p[2] for p in band], [p[3] for p in band],
                                    color=color, alpha=0.18, linewidth=0)
            ax.set_xticks(positions, labels, fontsize=7, rotation=0 if max(map(len, labels)) < 9 else 20)
            ax.set_ylabel(panel.unit)
            ax.yaxis.set_major_formatter(_number)
            ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.set_xlabel(view.parameter, fontsize=7.5)
            if any(series.name for series in panel.series) and panel is view.panels[0]:
                ax.legend(loc="best", fontsize=6.5)
        for ax in axes[len(view.panels):]:
            ax.set_visible(False)

    return render("sweep", draw, 9.6, 0.4 + 2.4 * rows, f"each KPI against {view.parameter}, with its 95% interval band",
                  spacing=(0.3, 0.75))
