"""The report's HTML: one self-contained page, its CSS inline, its charts inline SVG.

Pure: each ``*_page`` function takes a view (and the charts rendered from
it) and returns the whole document as text. The page loads nothing: its
Content-Security-Policy allows no request at all (``default-src 'none'``),
only its own inline styles, so a browser shows it offline exactly as
written. Every text from the input files is HTML-escaped. Print: cards and
charts keep together on a page, colours print as they show.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from simulator.report_html.compare_view import CompareView
from simulator.report_html.contract_timeline import BilledDocument, Timeline
from simulator.report_html.run_view import Card, RunView, by_currency
from simulator.report_html.sweep_view import SweepView

TIMELINE_ROWS = 80  # entries listed under the timeline chart; the chart shows them all

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9dee4; --good: #2f855a; --bad: #c53030; --paper: #fff; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1040px; padding: 24px 20px 48px; color: var(--ink); background: var(--paper);
       font: 14px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.sub, p.note, figcaption, footer { color: var(--muted); }
p.sub { margin: 0 0 16px; }
p.note, figcaption { font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 4px; padding: 8px 10px; }
.card.good { border-left-color: var(--good); }
.card.bad { border-left-color: var(--bad); }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 18px; font-weight: bold; overflow-wrap: anywhere; }
.card.bad .value { color: var(--bad); }
.card .note { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
figure { margin: 8px 0 16px; }
svg.chart { display: block; width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 6px 0 12px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f4f6f8; font-weight: bold; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.good { color: var(--good); font-weight: bold; }
td.bad { color: var(--bad); font-weight: bold; }
code { font-size: 12px; }
footer { margin-top: 40px; font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-after: avoid; }
  .card, figure, tr { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _document(title: str, subtitle: str, sections: list[str], sources: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>c2c report · {escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header>\n<h1>{escape(title)}</h1>\n<p class=\"sub\">{escape(subtitle)}</p>\n</header>\n<main>\n"
        + "".join(sections)
        + f"</main>\n<footer>c2c report, from {escape(sources)}. Self-contained: this page loads nothing.</footer>\n"
        "</body>\n</html>\n"
    )


def _section(anchor: str, heading: str, *parts: str) -> str:
    return f'<section id="{anchor}">\n<h2>{escape(heading)}</h2>\n' + "".join(parts) + "</section>\n"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>\n{svg}<figcaption>{escape(caption)}</figcaption>\n</figure>\n"


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>\n'


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(),
           tones: list[str] | None = None, tone_column: int | None = None) -> str:
    def cell(tag: str, i: int, text: str, tone: str = "") -> str:
        classes = " ".join(c for c in ("num" if i in numeric else "", tone) if c)
        return f'<{tag} class="{classes}">{escape(text)}</{tag}>' if classes else f"<{tag}>{escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        tone = tones[r] if tones else ""
        body.append("<tr>" + "".join(cell("td", i, text, tone if i == tone_column else "")
                                     for i, text in enumerate(row)) + "</tr>\n")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{''.join(body)}</tbody>\n</table>\n"


def _card(card: Card) -> str:
    tone = f" {card.tone}" if card.tone else ""
    note = f'<div class="note">{escape(card.note)}</div>' if card.note else ""
    return (f'<div class="card{tone}"><div class="label">{escape(card.label)}</div>'
            f'<div class="value">{escape(card.value)}</div>{note}</div>\n')


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


# -- one run ---------------------------------------------------------------------------------------


def run_page(view: RunView, charts: dict[str, str]) -> str:
    sections = [_section("kpis", "KPIs", '<div class="cards">\n', *map(_card, view.cards), "</div>\n")]
    sections.append(_section("wip", "Unbilled WIP over time", _figure(
        charts["wip"], "Approved work not yet on a posted invoice at each month end, per currency (kpis.json "
                       "unbilled_wip); the dashed line is work held over a capped contract's cap.")))
    sections.append(_section("distributions", "Invoice cycle time and sync latency",
        _figure(charts["cycle-time"], "Each billed item's time from its approval in the PSA to the PSA showing it "
                                      "billed (from events.jsonl: the latest approval, then the invoice write-back); "
                                      "the vertical lines are kpis.json's p50 and p95, approval to invoice posted."),
        _figure(charts["sync-latency"], "Each source change's time until the connector read that record by its id "
                                        "(from events.jsonl: the change, then the first successful GET of it); the "
                                        "vertical lines are kpis.json's p50 and p95 of the change reaching the ERP.")))
    sections.append(_section("money", "Leakage and over-billing", _figure(
        charts["money"], "Revenue leakage and over-billing per currency (kpis.json), and the money at stake in the "
                         "reconciliation's mismatches, summed per rule and currency (mismatches.jsonl).")))
    sections.append(_section("activity", "API calls and injected faults over time", _figure(
        charts["activity"], "Per simulated day (UTC): the connector's calls to each system, those that failed "
                            "(no answer, or 4xx/5xx), and the faults the scenario injected, by kind (events.jsonl).")))
    sections.append(_mismatch_section(view))
    if view.timeline is not None:
        sections.append(_timeline_section(view.timeline, charts["timeline"]))
    return _document(view.title, view.subtitle, sections, "kpis.json, events.jsonl, mismatches.jsonl and run.json")


def _mismatch_section(view: RunView) -> str:
    if not view.mismatches_total:
        return _section("mismatches", "Mismatches", _note("None: the ERP reconciles with the sources."))
    rows = [[str(r.rank), r.rule, r.item, r.expected, r.actual, r.at_stake, r.detail] for r in view.mismatch_rows]
    more = view.mismatches_total - len(view.mismatch_rows)
    parts = [
        _note(f"{view.mismatches_total:,} mismatches, the most money at stake first (ties by rule, then item)."),
        _table(["rule", "mismatches", "money at stake"], [[t.rule, f"{t.count:,}", t.money] for t in view.rule_totals],
               numeric={1}),
        _table(["#", "rule", "item", "expected", "ERP has", "at stake", "detail"], rows, numeric={0, 3, 4, 5}),
    ]
    if more > 0:
        parts.append(_note(f"… and {more:,} more in mismatches.jsonl."))
    return _section("mismatches", "Mismatches, ranked by money at stake", *parts)


def _timeline_section(timeline: Timeline, svg: str) -> str:
    count = len(timeline.mismatches)
    stake = by_currency(timeline.money_at_stake)
    parts = [
        _note(f"Contract {timeline.contract}: {timeline.why}. "
              + (f"Its {count:,} mismatches put {stake} at stake." if count and stake != "none" else
                 f"Its mismatches: {count:,}, no money at stake." if count else "It has no mismatch.")),
        _figure(svg, f"From its drafting to its payments. {timeline.scope}"),
    ]
    own = [e for e in timeline.entries if e.lane != "billing runs"]
    rows = [[_when(e.t), e.lane, e.what, e.entity] for e in timeline.entries[:TIMELINE_ROWS]]
    parts.append(_table(["when (UTC)", "lane", "what", "record"], rows))
    if len(timeline.entries) > TIMELINE_ROWS:
        parts.append(_note(f"… and {len(timeline.entries) - TIMELINE_ROWS:,} more ({len(own):,} of the contract's own "
                           "in all); the chart shows every one."))
    if timeline.documents:
        parts.append(_note(f"Its {len(timeline.documents):,} invoices and credit notes, each with its payments "
                           "(events.jsonl: the documents whose charges' lineage names the contract)."))
        parts.append(_table(["document", "kind", "posted (UTC)", "disputed (UTC)", "payments (UTC)", "also bills"],
                            [_document_row(d) for d in timeline.documents]))
    return _section("contract", f"Contract {timeline.contract}: its timeline", *parts)


def _document_row(document: BilledDocument) -> list[str]:
    return [document.id, document.kind, _when(document.posted) if document.posted is not None else "not posted",
            ", ".join(map(_when, document.disputed)) or "—",
            ", ".join(f"{payment} {_when(t)}" for payment, t in document.payments) or "none",
            ", ".join(document.others) or "—"]


# -- a comparison and a sweep ---------------------------------------------------------------------------


def compare_page(view: CompareView, chart: str) -> str:
    rows = [[line.label, line.a, line.b, line.delta] for line in view.lines]
    table = _table(["KPI", f"A {view.a_name}", f"B {view.b_name}", "Δ B − A"], rows, numeric={1, 2, 3},
                   tones=[line.tone for line in view.lines], tone_column=3)
    sections = [
        _section("table", "KPIs, A against B", table, _note(
            "Δ is green when its paired interval excludes 0 and B is better, red when B is worse.")),
        _section("intervals", "Each KPI with its interval", _figure(
            chart, f"Mean (dot) and 95% interval (bar) of A ({view.a_name}, blue) and B ({view.b_name}, orange); "
                   "a green or red left edge marks a delta whose interval excludes 0.")),
    ]
    return _document(view.title, view.subtitle, sections, "compare.json")


def sweep_page(view: SweepView, chart: str) -> str:
    others = f"; one line per value of {', '.join(view.others)}" if view.others else ""
    sections = [_section("kpis", f"Each KPI against {view.parameter}", _figure(
        chart, f"Mean across seeds (line) and its 95% Student-t interval (band) at each of the {view.points} grid "
               f"points{others}. No band where fewer than two seeds measured the KPI."))]
    return _document(view.title, view.subtitle, sections, "sweep.json")
