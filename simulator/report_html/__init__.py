"""``c2c report``: one self-contained HTML page from a ``c2c simulate``, ``c2c compare`` or ``c2c sweep`` output.

The pieces, each one idea:

- :mod:`.inputs` reads and checks the files (the only I/O besides the CLI
  writing the page), and says which kind of output it was given;
- :mod:`.trace_digest` folds ``events.jsonl`` into activity per day and
  per-item latencies, in one pass;
- :mod:`.contract_timeline` ties events to a contract through the
  mismatches' lineage and the contracts the trace says each invoice bills
  (and the invoice each payment is for), and picks the contract to show;
- :mod:`.run_view`, :mod:`.compare_view`, :mod:`.sweep_view` decide what
  each kind of report shows, as plain values;
- :mod:`.charts` renders those values with matplotlib as inline SVG;
- :mod:`.page` writes the HTML around them.

Guarantee: the same input files give a byte-identical page (no clock, no
path, no machine-dependent figure is written into it), and the page loads
nothing from anywhere.
"""

from __future__ import annotations

from pathlib import Path

from simulator.report_html.inputs import CompareFile, ReportInputError, RunFiles, Source, SweepFiles, locate

__all__ = ["ReportInputError", "build_report", "default_output", "locate"]


def default_output(source: Source) -> Path:
    """Where the page goes unless told: ``DIR/report.html`` for a directory, ``X.html`` beside a compare file ``X.json``."""
    if isinstance(source, CompareFile) and source.path.name != "compare.json":
        return source.path.with_suffix(".html")
    if isinstance(source, CompareFile):
        return source.path.parent / "report.html"
    return source.directory / "report.html"


def build_report(source: Source, contract: str | None = None) -> str:
    """The whole HTML page for ``source``; ``contract``: the contract whose timeline a run's report shows.

    Raises :class:`ReportInputError` for files it cannot read, and for a ``contract`` the run does not know.
    """
    from simulator.report_html import charts, page

    if isinstance(source, RunFiles):
        return _run_report(source, contract)
    if contract is not None:
        kind = "a compare output" if isinstance(source, CompareFile) else "a sweep output"
        raise ReportInputError(f"--contract {contract}: a contract's timeline is shown for a c2c simulate directory, "
                               f"not for {kind}")
    if isinstance(source, CompareFile):
        from simulator.report_html.compare_view import compare_view

        view = compare_view(source.comparison)
        return page.compare_page(view, charts.compare_chart(view))
    assert isinstance(source, SweepFiles)
    from simulator.report_html.sweep_view import sweep_view

    view = sweep_view(source.summary)
    return page.sweep_page(view, charts.sweep_chart(view))


def _run_report(files: RunFiles, contract: str | None) -> str:
    from simulator.report_html import charts, page
    from simulator.report_html.contract_timeline import UnknownContract, build_timeline, choose_contract, linked_entities
    from simulator.report_html.inputs import trace_records
    from simulator.report_html.run_view import run_view
    from simulator.report_html.trace_digest import digest_trace

    links = linked_entities(files.mismatches)
    digest = digest_trace(trace_records(files.trace), frozenset(links))
    try:
        chosen = choose_contract(files.mismatches, digest, links, contract)
    except UnknownContract as exc:
        raise ReportInputError(f"--contract {contract}: {exc}") from None
    timeline = build_timeline(*chosen, files.mismatches, digest, links) if chosen else None
    view = run_view(files, digest, timeline)
    rendered = {"wip": charts.wip_chart(view.wip), "cycle-time": charts.cycle_chart(view.cycle),
                "sync-latency": charts.pickup_chart(view.pickup), "money": charts.money_chart(view),
                "activity": charts.activity_chart(view)}
    if timeline is not None:
        rendered["timeline"] = charts.timeline_chart(timeline)
    return page.run_page(view, rendered)
