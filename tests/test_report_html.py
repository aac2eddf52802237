"""``c2c report``: one self-contained HTML page from a simulate directory, a compare output or a sweep.

The page tests share one small simulation (the small firm, integrated by the legacy nightly batch under
server errors and lost responses, so that it leaks, over-bills and has faults to show) and its report, built
once per test process. What the page shows is checked against the files it was built from; the pure pieces
(the trace digest, the contract timeline) against hand-made records.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import shutil
import textwrap
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.compare import compare
from simulator.kpis import percentiles
from simulator.output import JsonLinesSink
from simulator.report_html import build_report, locate
from simulator.report_html.contract_timeline import (
    UnknownContract,
    build_timeline,
    choose_contract,
    contract_of,
    linked_entities,
)
from simulator.report_html.inputs import MismatchRecord
from simulator.report_html.trace_digest import digest_trace
from simulator.run import SimulationResult, simulate
from simulator.scenario import load_scenario
from simulator.trace import Trace, trace_billing
from tests.conftest import ROOT

SCENARIO = f"""\
extends: {ROOT / "tests" / "scenarios" / "small.yaml"}
name: small_legacy
connector: reference_impl.legacy:build
faults:
  http:
    - {{kind: server_error, rate: 0.03}}
    - {{kind: lost_response, rate: 0.03, systems: [erp], methods: [POST]}}
"""
RUN_CHARTS = {"wip", "cycle-time", "sync-latency", "money", "activity", "timeline"}


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``c2c simulate --out`` directory of a small leaky run, with its ``report.html`` written by ``c2c report``."""
    root = tmp_path_factory.mktemp("report-run")
    scenario = root / "small_legacy.yaml"
    scenario.write_text(SCENARIO)
    out = root / "run"
    result = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 1, result.output  # the legacy batch does not reconcile: that is what is shown
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {out / 'report.html'}"
    return out


@pytest.fixture(scope="session")
def page(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def simulated(run_dir: Path) -> SimulationResult:
    """The same run in this process, so its ERP's state can be read; its trace is ``run_dir``'s, byte for byte."""
    trace = io.StringIO()
    result = simulate(load_scenario(run_dir.parent / "small_legacy.yaml"), 1, sink=JsonLinesSink(trace))
    assert trace.getvalue() == (run_dir / "events.jsonl").read_text(), "not the run the report was built from"
    return result


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each table cell, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(page: str) -> Elements:
    elements = Elements()
    elements.feed(page)
    return elements


# -- the page of one run -----------------------------------------------------------------------------


def test_the_page_is_self_contained(page: str) -> None:
    """Nothing to fetch: no script, stylesheet link, image, frame or object; every reference is inside the page,
    and the Content-Security-Policy forbids any request a browser might still think of."""
    assert page.startswith("<!DOCTYPE html>\n")
    tags = parse(page).tags
    names = Counter(tag for tag, _ in tags)
    assert not {"script", "link", "img", "iframe", "object", "embed", "video", "audio"} & set(names)
    for tag, attrs in tags:
        for name in ("href", "xlink:href", "src"):
            if attrs.get(name) is not None:
                assert attrs[name].startswith("#"), f"<{tag} {name}={attrs[name]!r}> points outside the page"
    csp = [attrs["content"] for tag, attrs in tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'"]
    assert re.findall(r"url\((.)", page) == ["#"] * page.count("url("), "a CSS url() points outside the page"
    assert "@import" not in page


def test_every_chart_is_inline_svg_drawn_by_matplotlib(page: str) -> None:
    charts = [attrs for tag, attrs in parse(page).tags if tag == "svg" and "data-chart" in attrs]
    assert {chart["data-chart"] for chart in charts} == RUN_CHARTS
    assert len(charts) == len(RUN_CHARTS)
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "<dc:date>" not in page
    # text stays text, so a reader can search it: the axis titles are in the page as words
    assert "unbilled WIP at each month end (USD)" in page and "the connector's API calls per day" in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids clash between charts"


@pytest.mark.slow  # a second build of the page: about 2 s
def test_the_same_files_give_a_byte_identical_page(run_dir: Path, page: str, tmp_path: Path) -> None:
    """Built again from a copy elsewhere: the page names no path, no clock and no figure of the machine."""
    copy_dir = tmp_path / "elsewhere"
    shutil.copytree(run_dir, copy_dir)
    (copy_dir / "report.html").unlink()
    run = json.loads((copy_dir / "run.json").read_text())
    run.update(wall_seconds=run["wall_seconds"] + 12.5, peak_rss_mib=1.0)  # another machine's run of the same seed
    (copy_dir / "run.json").write_text(json.dumps(run))
    assert build_report(locate(copy_dir)) == page
    assert str(run_dir) not in page


def test_a_chart_is_byte_identical_drawn_twice(run_dir: Path) -> None:
    """The charts are matplotlib's SVG with a fixed hash salt and no date: the same data, the same bytes."""
    from simulator.report_html import charts
    from simulator.report_html.run_view import run_view

    files = locate(run_dir)
    digest = digest_trace(jsonl(run_dir / "events.jsonl"))
    view = run_view(files, digest, None)
    first, second = charts.activity_chart(view), charts.activity_chart(view)
    assert first == second and first.startswith("<svg") and 'data-chart="activity"' in first
    assert str(run_dir) not in first


def test_the_cards_say_what_kpis_json_says(run_dir: Path, page: str) -> None:
    kpis = json.loads((run_dir / "kpis.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    cells = {m.group(1): m.group(2) for m in re.finditer(
        r'<div class="label">([^<]+)</div><div class="value">([^<]+)</div>', page)}
    assert cells["reconciliation"] == f"{kpis['reconciliation']['mismatches']:,} mismatches"
    assert kpis["reconciliation"]["mismatches"] > 0 and '<div class="card bad"><div class="label">reconciliation' in page
    leakage = kpis["revenue_leakage"]["USD"]
    assert leakage > 0 and cells["revenue leakage"] == f"USD {leakage / 100:,.2f}"
    assert cells["invoices posted"] == f"{kpis['invoices']['count']:,}"
    assert cells["faults injected"] == f"{sum(run['faults'].values()):,}"
    assert cells["API calls by the connector"] == f"{sum(s['calls'] for s in kpis['api_calls'].values()):,}"


def test_mismatches_are_ranked_by_money_at_stake(run_dir: Path, page: str) -> None:
    records = jsonl(run_dir / "mismatches.jsonl")
    cells = parse(page).cells
    header = cells.index("#")
    width = 7
    rows = [cells[i:i + width] for i in range(header + width, len(cells), width) if cells[i].isdigit()]
    assert len(rows) == min(len(records), 100)
    ranked = sorted(records, key=lambda r: (-r["money_at_stake"], r["rule"], r["item"]))
    assert [(row[1], row[2]) for row in rows] == [(r["rule"], r["item"]) for r in ranked[:len(rows)]]
    top = ranked[0]
    assert rows[0][5] == f"{top['currency']} {top['money_at_stake'] / 100:,.2f}"


def test_the_timeline_is_the_contract_with_the_most_money_at_stake(run_dir: Path, page: str) -> None:
    stake: Counter = Counter()
    for record in jsonl(run_dir / "mismatches.jsonl"):
        found = re.search(r"\bcontract (ctr_\d+)", record["detail"]) or re.search(r"(ctr_\d+)", record["item"])
        if found:
            stake[found.group(1)] += record["money_at_stake"]
    richest = min(stake, key=lambda c: (-stake[c], c))
    assert f"Contract {richest}: the contract with the most money at stake in its mismatches." in page
    signed = [r for r in jsonl(run_dir / "events.jsonl")
              if r["kind"] == "event" and r["type"] == "clm.contract.signed" and r["entity"] == richest]
    assert len(signed) == 1
    cells = parse(page).cells
    assert "signed" in cells and richest in cells


def test_a_chosen_contract_and_unknown_ones(run_dir: Path) -> None:
    files = locate(run_dir)
    links = linked_entities(files.mismatches)
    digest = digest_trace(jsonl(run_dir / "events.jsonl"), frozenset(links))
    chosen = choose_contract(files.mismatches, digest, links, "ctr_000001")
    assert chosen == ("ctr_000001", "chosen with --contract")
    timeline = build_timeline(*chosen, files.mismatches, digest, links)
    assert ("contract", "signed", "ctr_000001") in [(e.lane, e.what, e.entity) for e in timeline.entries]
    result = CliRunner().invoke(main, ["report", str(run_dir), "--contract", "ctr_999999", "--out", "unused.html"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --contract ctr_999999: no contract 'ctr_999999' in this run (it has ctr_")
    assert not Path("unused.html").exists()


def billed_by_lineage(result: SimulationResult) -> dict[str, set[str]]:
    """Contract id -> the invoices and credit notes that bill it, by the ERP's own state: the documents of the
    charges whose lineage names the contract."""
    billed: dict[str, set[str]] = {}
    for charge in result.systems.erp.charges.values():
        contract = charge.lineage.get("contract_id")
        if charge.invoice_id is not None and isinstance(contract, str):
            billed.setdefault(contract, set()).add(charge.invoice_id)
    return billed


def test_the_trace_names_the_contracts_an_invoice_bills_and_the_invoice_a_payment_is_for(
        run_dir: Path, simulated: SimulationResult) -> None:
    erp = simulated.systems.erp
    records = [r for r in jsonl(run_dir / "events.jsonl") if r["kind"] == "event"]
    drafted = {r["entity"]: r["contracts"] for r in records
               if r["type"] in ("erp.invoice.created", "erp.credit_note.created")}
    assert set(drafted) == set(erp.invoices) and drafted
    billed = billed_by_lineage(simulated)
    for document, contracts in drafted.items():
        assert contracts == sorted(c for c, documents in billed.items() if document in documents), document
    paid = {r["entity"]: r["invoice"] for r in records if r["type"] == "erp.payment.received"}
    assert paid == {p.id: p.invoice_id for p in erp.payments.values()} and paid
    others = [r for r in records if ("contracts" in r or "invoice" in r)
              and r["type"] not in ("erp.invoice.created", "erp.credit_note.created", "erp.payment.received")]
    assert others == [], "only a drafted document and a payment carry them: the trace stays small"


def test_a_contract_s_timeline_shows_exactly_its_invoices_and_their_payments(
        run_dir: Path, simulated: SimulationResult) -> None:
    erp = simulated.systems.erp
    files = locate(run_dir)
    links = linked_entities(files.mismatches)
    digest = digest_trace(jsonl(run_dir / "events.jsonl"), frozenset(links))
    billed = billed_by_lineage(simulated)
    shown_paid = []
    for contract in sorted(simulated.systems.clm.contracts):
        timeline = build_timeline(contract, "test", files.mismatches, digest, links)
        invoices = {e.entity for e in timeline.entries if e.lane in ("invoices", "credit notes")}
        assert invoices == billed.get(contract, set()), contract
        assert [d.id for d in timeline.documents] == sorted(invoices), contract  # drafted in id order
        payments = {e.entity for e in timeline.entries if e.lane == "payments"}
        assert payments == {p.id for p in erp.payments.values() if p.invoice_id in invoices}, contract
        for entry in timeline.entries:
            if entry.lane == "payments":
                assert entry.what == f"payment received for {erp.payments[entry.entity].invoice_id}"
        for document in timeline.documents:
            invoice = erp.invoices[document.id]
            assert document.kind == invoice.document_type.replace("_", " ")
            own = [p for p in erp.payments.values() if p.invoice_id == document.id]
            assert [payment for payment, _ in document.payments] == [p.id for p in own]
            for (_, t), p in zip(document.payments, own, strict=True):  # the trace's milliseconds, the ERP's seconds
                assert 0 <= t - dt.datetime.fromisoformat(p.received_at).timestamp() < 1
        if invoices and payments:
            shown_paid.append(contract)
    assert shown_paid, "no contract of the run has both an invoice and a payment on its timeline"
    contract = shown_paid[0]
    out = run_dir.parent / f"report-{contract}.html"
    result = CliRunner().invoke(main, ["report", str(run_dir), "--contract", contract, "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = parse(out.read_text(encoding="utf-8")).cells
    invoice = sorted(billed[contract])[0]
    payment = min(p.id for p in erp.payments.values() if p.invoice_id in billed[contract])
    assert "invoice posted" in cells and invoice in cells
    assert f"payment received for {erp.payments[payment].invoice_id}" in cells and payment in cells
    assert any(cell.startswith(f"{payment} ") for cell in cells), "the documents table lists the payment"


def test_the_cycle_time_distribution_is_the_trace_s_per_item_view_of_the_kpi(run_dir: Path) -> None:
    """Approval to billed-in-the-PSA per item, from the trace: as many items as kpis.json times, and
    percentiles no earlier than kpis.json's (approval to invoice posted; the write-back comes after)."""
    kpis = json.loads((run_dir / "kpis.json").read_text())
    digest = digest_trace(jsonl(run_dir / "events.jsonl"))
    ours = percentiles(digest.cycle_hours)
    theirs = kpis["invoices"]["cycle_time_hours"]
    assert 0 < ours["count"] <= theirs["count"]
    assert ours["p50"] >= theirs["p50"] - 24 and ours["p95"] >= theirs["p95"] - 24


# -- the trace digest and the timeline, on hand-made records --------------------------------------------


def event(t: float, system: str, type_: str, entity: str) -> dict[str, Any]:
    return {"t": t, "kind": "event", "system": system, "type": type_, "entity": entity}


def api(t: float, system: str, method: str, path: str, status: int = 200) -> dict[str, Any]:
    return {"t": t, "kind": "api", "system": system, "method": method, "path": path, "status": status}


DAY = 86400.0
T0 = 1767225600.0  # 2026-01-01T00:00:00Z


def test_cycle_time_runs_from_the_latest_approval_to_the_write_back() -> None:
    digest = digest_trace([
        event(T0, "psa", "psa.timesheet.approved", "tms_1"),
        event(T0 + 3600, "psa", "psa.timesheet.approved", "tms_1"),  # re-approved after an adjustment
        event(T0 + 11 * 3600, "psa", "psa.timesheet.billing_updated", "tms_1"),
        event(T0 + 12 * 3600, "psa", "psa.timesheet.billing_updated", "tms_1"),  # its second line
        event(T0, "psa", "psa.expense.approved", "exp_1"),
        event(T0 + 2 * 3600, "psa", "psa.expense.billing_updated", "exp_1"),
        event(T0, "psa", "psa.expense.billing_updated", "exp_2"),  # billed without an approval in the trace
        event(T0, "psa", "psa.timesheet.approved", "exp_9"),  # same id, another kind of record: not exp_9's approval
        event(T0 + 5, "psa", "psa.expense.billing_updated", "exp_9"),
    ])
    assert digest.cycle_hours == [10.0, 11.0, 2.0]


def test_pickup_is_the_first_successful_read_of_that_record_on_its_system() -> None:
    digest = digest_trace([
        event(T0, "psa", "psa.timesheet.approved", "tms_1"),
        api(T0 + 60, "psa", "GET", "/timesheets/tms_1", status=503),  # failed: not read
        api(T0 + 90, "erp", "GET", "/x/tms_1"),  # another system
        api(T0 + 120, "psa", "GET", "/timesheets/tms_1"),
        api(T0 + 600, "psa", "GET", "/timesheets/tms_1"),  # read again: the first read counts
        event(T0, "crm", "crm.account.created", "acc_1"),  # never read by id
        event(T0, "clm", "clm.contract.signed", "ctr_1"),
        event(T0 + 60, "clm", "clm.contract.amended", "ctr_1"),
        api(T0 + 300, "clm", "GET", "/contracts/ctr_1"),  # closes both changes
    ])
    assert digest.pickup_minutes["PSA timesheet or expense approved"] == [2.0]
    assert digest.pickup_minutes["CLM contract signed or amended"] == [5.0, 4.0]
    assert digest.pickup_minutes["CRM account created"] == []
    assert digest.never_read["CRM account created"] == 1
    assert digest.failed_calls[digest.days()[0]] == 1


def test_activity_is_per_utc_day_with_empty_days_kept() -> None:
    digest = digest_trace([
        api(T0 + 10, "erp", "POST", "/charges"),
        {"t": T0 + 20, "kind": "fault", "fault": "server_error", "system": "erp"},
        api(T0 + 2 * DAY + 5, "erp", "POST", "/charges", status=0),
        api(T0 + 2 * DAY + 6, "psa", "GET", "/timesheets/tms_1"),
    ])
    days = digest.days()
    assert [d.isoformat() for d in days] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert [digest.calls["erp"][d] for d in days] == [1, 0, 1]
    assert [digest.failed_calls[d] for d in days] == [0, 0, 1]
    assert [digest.faults["server_error"][d] for d in days] == [1, 0, 0]


def mismatch(**fields: Any) -> MismatchRecord:
    return MismatchRecord(**{"rule": "net_charge", "item": "psa:timesheet_line/tsl_1", "money_at_stake": 0,
                             "currency": "USD", **fields})


def test_a_mismatch_names_its_contract_by_item_lineage_or_detail() -> None:
    assert contract_of(mismatch(item="clm:contract/ctr_7")) == "ctr_7"
    assert contract_of(mismatch(item="clm:milestone/ctr_7/M2")) == "ctr_7"
    assert contract_of(mismatch(item="erp:charge/chg_1", lineage={"contract_id": "ctr_8"})) == "ctr_8"
    assert contract_of(mismatch(detail="capped contract ctr_000009: need 0 <= billed")) == "ctr_000009"
    assert contract_of(mismatch(detail="contract ctr_3, timesheet_line dated 2026-03-03")) == "ctr_3"
    assert contract_of(mismatch(detail="the PSA does not show the invoice that billed it")) is None


def test_the_timeline_ties_lineage_to_the_contract_and_shows_billing_runs() -> None:
    mismatches = [
        mismatch(rule="lineage", item="erp:charge/chg_5", currency=None,
                 lineage={"contract_id": "ctr_1", "timesheet_id": "tms_4", "source_type": "timesheet_line",
                          "source_id": "tsl_9"}),
        mismatch(item="psa:expense/exp_3", detail="capped contract ctr_1: need", money_at_stake=500),
        mismatch(item="clm:contract/ctr_2", money_at_stake=400),
    ]
    links = linked_entities(mismatches)
    assert links == {"chg_5": "ctr_1", "tms_4": "ctr_1", "exp_3": "ctr_1"}
    trace = [
        event(T0, "clm", "clm.contract.signed", "ctr_1"),
        event(T0 + 1, "clm", "clm.contract.signed", "ctr_2"),
        event(T0 + DAY, "psa", "psa.timesheet.approved", "tms_4"),
        event(T0 + DAY, "erp", "erp.charge.created", "chg_5"),
        event(T0 + DAY, "erp", "erp.charge.created", "chg_6"),  # no mismatch ties it to a contract
        event(T0 + 31 * DAY, "erp", "erp.billing_run.completed", "run_1"),
        event(T0 + 32 * DAY, "psa", "psa.timesheet.billing_updated", "tms_4"),
    ]
    digest = digest_trace(trace, frozenset(links))
    chosen = choose_contract(mismatches, digest, links)
    assert chosen == ("ctr_1", "the contract with the most money at stake in its mismatches")
    timeline = build_timeline(*chosen, mismatches, digest, links)
    assert [(e.lane, e.what, e.entity) for e in timeline.entries] == [
        ("contract", "signed", "ctr_1"),
        ("approvals", "timesheet approved", "tms_4"),
        ("charges", "charge created", "chg_5"),
        ("billing runs", "billing run", "run_1"),
        ("billed in the PSA", "timesheet line marked billed", "tms_4"),
    ]
    assert timeline.money_at_stake == {"USD": 500}
    assert [m.item for m in timeline.mismatches] == ["psa:expense/exp_3", "erp:charge/chg_5"]


def test_invoices_and_payments_join_the_contract_their_records_name() -> None:
    trace = [
        event(T0, "clm", "clm.contract.signed", "ctr_1"),
        event(T0 + 31 * DAY, "erp", "erp.billing_run.completed", "run_1"),
        {**event(T0 + 31 * DAY, "erp", "erp.invoice.created", "inv_1"), "contracts": ["ctr_1"]},
        {**event(T0 + 31 * DAY, "erp", "erp.invoice.created", "inv_2"), "contracts": ["ctr_2"]},
        {**event(T0 + 31 * DAY, "erp", "erp.invoice.created", "inv_3"), "contracts": ["ctr_1", "ctr_2"]},
        {**event(T0 + 31 * DAY, "erp", "erp.credit_note.created", "inv_4"), "contracts": ["ctr_1"]},
        event(T0 + 31 * DAY + 1, "erp", "erp.invoice.posted", "inv_1"),
        event(T0 + 31 * DAY + 1, "erp", "erp.invoice.posted", "inv_2"),
        event(T0 + 31 * DAY + 1, "erp", "erp.credit_note.posted", "inv_4"),
        event(T0 + 33 * DAY, "erp", "erp.invoice.disputed", "inv_1"),
        {**event(T0 + 60 * DAY, "erp", "erp.payment.received", "pay_1"), "invoice": "inv_2"},
        {**event(T0 + 61 * DAY, "erp", "erp.payment.received", "pay_2"), "invoice": "inv_1"},
        {**event(T0 + 62 * DAY, "erp", "erp.payment.received", "pay_3"), "invoice": "inv_1"},
        event(T0 + 63 * DAY, "erp", "erp.payment.received", "pay_4"),  # a trace that does not say: tied to none
    ]
    digest = digest_trace(trace)
    timeline = build_timeline("ctr_1", "test", [], digest, {})
    assert [(e.lane, e.what, e.entity) for e in timeline.entries] == [
        ("contract", "signed", "ctr_1"),
        ("billing runs", "billing run", "run_1"),
        ("invoices", "invoice drafted", "inv_1"),
        ("invoices", "invoice drafted", "inv_3"),
        ("credit notes", "credit note drafted", "inv_4"),
        ("invoices", "invoice posted", "inv_1"),
        ("credit notes", "credit note posted", "inv_4"),
        ("invoices", "invoice disputed", "inv_1"),
        ("payments", "payment received for inv_1", "pay_2"),
        ("payments", "payment received for inv_1", "pay_3"),
    ]
    assert [(d.id, d.kind, d.posted, d.disputed, d.payments, d.others) for d in timeline.documents] == [
        ("inv_1", "invoice", T0 + 31 * DAY + 1, (T0 + 33 * DAY,), (("pay_2", T0 + 61 * DAY), ("pay_3", T0 + 62 * DAY)),
         ()),
        ("inv_3", "invoice", None, (), (), ("ctr_2",)),
        ("inv_4", "credit note", T0 + 31 * DAY + 1, (), (), ()),
    ]
    assert "(3 documents, 2 payments)" in timeline.scope
    other = build_timeline("ctr_2", "test", [], digest, {})
    assert [e.entity for e in other.entries if e.lane in ("invoices", "payments")] == ["inv_2", "inv_3", "inv_2", "pay_1"]
    assert choose_contract([], digest, {}) == (
        "ctr_1", "the contract with the most events in the trace (no mismatch puts money at stake)")
    # a trace written before invoices named their contracts: the timeline shows none, and says so
    older = digest_trace([{k: v for k, v in r.items() if k not in ("contracts", "invoice")} for r in trace])
    timeline = build_timeline("ctr_1", "test", [], older, {})
    assert {e.lane for e in timeline.entries} == {"contract", "billing runs"} and timeline.documents == []
    assert "(the trace has none: nothing billed it, or the trace predates these records)" in timeline.scope


def test_the_trace_ties_a_credit_note_and_a_payment_as_the_erp_issues_them(systems, clock) -> None:
    """Through the ERP itself: each drafted document names the contracts of its charges' lineage, each payment
    its invoice, and no other record says more than it did."""
    records: list[dict[str, Any]] = []
    trace = Trace(clock, records.append)
    trace_billing(trace, systems.erp)
    erp = systems.erp
    erp.feed.subscribe(trace.business_event)
    erp.open_period("2026-01")
    erp.open_period("2026-02")
    customer = erp.create_customer(external_ref="acc_1", name="Acme", legal_name="Acme Inc.", tax_id="T-1",
                                   tax_jurisdiction="US-NY", currency="USD", billing_address={"country": "US"})
    project = erp.create_billing_project(customer_id=customer.id, legal_entity="US01", contract_ref="ctr_1",
                                         currency="USD", name="SOW", payment_terms_days=30)

    def charge(amount: int, day: str, lineage: dict[str, Any], reversal_of: str | None = None):
        return erp.create_charge(billing_project_id=project.id, charge_date=day, description="work",
                                 quantity=Decimal(1), unit_price=amount, amount=amount, currency="USD",
                                 lineage=lineage, reversal_of=reversal_of)

    first = charge(10_000, "2026-01-10", {"contract_id": "ctr_1", "source_id": "tsl_1"})
    charge(500, "2026-01-11", {"contract_id": "ctr_9", "source_id": "tsl_2"})  # a connector's lineage, as written
    charge(200, "2026-01-12", {"source_id": "tsl_3"})  # names no contract
    (invoice,) = erp.run_billing("US01", "2026-01")
    erp.post_invoice(invoice.id)
    charge(-10_000, "2026-02-02", {"contract_id": "ctr_1", "source_id": "tsl_1"}, reversal_of=first.id)
    (note,) = erp.run_billing("US01", "2026-02")
    erp.post_invoice(note.id)
    payment = erp.record_payment(invoice.id, 1_000)
    assert note.document_type == "credit_note"
    extra = [(r["type"], r["entity"], {k: v for k, v in r.items() if k in ("contracts", "invoice")})
             for r in records if "contracts" in r or "invoice" in r]
    assert extra == [("erp.invoice.created", invoice.id, {"contracts": ["ctr_1", "ctr_9"]}),
                     ("erp.credit_note.created", note.id, {"contracts": ["ctr_1"]}),
                     ("erp.payment.received", payment.id, {"invoice": invoice.id})]
    assert list(records[-1]) == ["seq", "t", "kind", "system", "type", "entity", "version", "invoice"]


def test_without_money_at_stake_the_contract_with_the_most_events_is_shown() -> None:
    trace = [event(T0, "clm", "clm.contract.created", "ctr_1"), event(T0, "clm", "clm.contract.created", "ctr_2"),
             event(T0 + 1, "clm", "clm.contract.signed", "ctr_2"), event(T0 + 2, "clm", "clm.contract.amended", "ctr_2")]
    digest = digest_trace(trace)
    assert choose_contract([], digest, {}) == (
        "ctr_2", "the contract with the most events in the trace (no mismatch puts money at stake)")
    assert choose_contract([], digest_trace([]), {}) is None
    with pytest.raises(UnknownContract, match="no contract 'ctr_3' in this run"):
        choose_contract([], digest, {}, "ctr_3")


# -- a comparison --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def compare_file(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``c2c compare``'s JSON for the run against itself and a second seed that leaked twice as much."""
    kpis = json.loads((run_dir / "kpis.json").read_text())
    other = copy.deepcopy(kpis)
    other["seed"] = 2
    other["revenue_leakage"] = {c: v * 2 for c, v in kpis["revenue_leakage"].items()}
    fixed = copy.deepcopy(kpis)
    fixed["revenue_leakage"], fixed["over_billing"] = {}, {}
    fixed_other = copy.deepcopy(fixed)
    fixed_other["seed"] = 2
    result = compare([kpis, other], [fixed, fixed_other], a_name="leaky", b_name="fixed")
    path = tmp_path_factory.mktemp("report-compare") / "what-if.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return path


@pytest.fixture(scope="session")
def compare_page(compare_file: Path) -> str:
    result = CliRunner().invoke(main, ["report", str(compare_file)])
    assert result.exit_code == 0, result.output
    out = compare_file.with_suffix(".html")  # beside the compare file, named after it
    assert result.output.strip() == f"wrote {out}"
    return out.read_text()


def test_a_comparison_page_has_the_table_and_every_kpi_s_intervals(compare_file: Path, compare_page: str) -> None:
    comparison = json.loads(compare_file.read_text())
    elements = parse(compare_page)
    charts = [attrs["data-chart"] for tag, attrs in elements.tags if tag == "svg" and "data-chart" in attrs]
    assert charts == ["compare"]
    assert "<title>c2c report · A leaky vs B fixed</title>" in compare_page
    for row in comparison["metrics"]:
        label = row["label"] + (f" ({row['currency']})" if row["currency"] else "")
        assert label in elements.cells  # in the table
        assert f">{textwrap.wrap(label, 38)[0]}" in compare_page  # and as a panel's title (wrapped)


def test_a_comparison_colours_only_deltas_whose_interval_excludes_zero(compare_file: Path, compare_page: str) -> None:
    comparison = json.loads(compare_file.read_text())
    leakage = next(row for row in comparison["metrics"] if row["id"] == "revenue_leakage.USD")
    assert leakage["delta"]["excludes_zero"] is False  # two seeds that leaked differently: a wide interval
    toned = re.findall(r'<td class="num (good|bad)">', compare_page)
    expected = sum(1 for row in comparison["metrics"] if row["delta"]["excludes_zero"] and row["better"])
    assert len(toned) == expected


def test_a_directory_holding_compare_json_is_a_comparison(run_dir: Path, tmp_path: Path) -> None:
    from simulator.compare import METRICS

    kpis = json.loads((run_dir / "kpis.json").read_text())
    (tmp_path / "compare.json").write_text(json.dumps(compare([kpis], [kpis], metrics=METRICS[:1])))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "reconciliation mismatches" in (tmp_path / "report.html").read_text()
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--contract", "ctr_1"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --contract ctr_1: a contract's timeline is shown for a c2c simulate "
                                     "directory, not for a compare output")


# -- a sweep -------------------------------------------------------------------------------------------


def sweep_document() -> dict[str, Any]:
    """A sweep.json as ``c2c sweep`` documents it: two axes, the first a [low, high] pair, two KPIs."""
    points = []
    for i, delay in enumerate([[0, 48], [24, 72], [48, 96]]):
        for j, rate in enumerate([0.0, 0.1]):
            mean = 100.0 * (i + 1) + 50 * j
            points.append({"id": f"p{i * 2 + j + 1:02d}", "parameters": {"people.approval_delay_hours": delay,
                                                                       "faults.http[0].rate": rate},
                           "kpis": {"invoices.cycle_time_hours.p50": {"n": 3, "mean": mean, "low": mean - 10,
                                                                      "high": mean + 10},
                                    "revenue_leakage.USD": {"n": 3, "mean": 1000 * j, "low": None, "high": None}}})
    return {"schema_version": "1.0", "sweep": "approval_delay", "description": "approval delay x errors",
            "confidence": 0.95, "seeds": [1, 2, 3],
            "parameters": [{"path": "people.approval_delay_hours", "values": [[0, 48], [24, 72], [48, 96]]},
                           {"path": "faults.http[0].rate", "values": [0.0, 0.1]}],
            "kpis": [{"id": "invoices.cycle_time_hours.p50", "metric": "invoices.cycle_time_hours.p50",
                      "label": "invoice cycle time p50", "unit": "hours", "currency": None, "better": "lower"},
                     {"id": "revenue_leakage.USD", "metric": "revenue_leakage", "label": "revenue leakage",
                      "unit": "money", "currency": "USD", "better": "lower"}],
            "points": points}


def test_a_sweep_page_plots_each_kpi_against_the_first_parameter(tmp_path: Path) -> None:
    (tmp_path / "sweep.json").write_text(json.dumps(sweep_document()))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text()
    assert "Each KPI against people.approval_delay_hours" in page
    for tick in ("[0, 48]", "[24, 72]", "[48, 96]"):  # a pair is a category, labelled as the sweep file says it
        assert f">{tick}</text>" in page
    assert "faults.http[0].rate = 0" in page and "faults.http[0].rate = 0.1" in page  # one line per other value
    assert "revenue leakage (USD)" in page and "invoice cycle time p50" in page


def test_the_page_of_what_c2c_sweep_writes(tmp_path: Path) -> None:
    """sweep.json as simulator.sweep writes it (a numeric first axis): every KPI column has its panel."""
    from simulator.sweep import sweep_summary
    from simulator.sweep_file import load_sweep
    from tests.test_compare import kpis

    path = tmp_path / "rejections.yaml"
    path.write_text(f"name: rejections\nscenario: {ROOT / 'tests' / 'scenarios' / 'small.yaml'}\nseeds: [1, 2, 3]\n"
                    "grid:\n  people.rejection_rate: [0.0, 0.1, 0.2]\n")
    sweep = load_sweep(path)
    runs = {(point.id, seed): kpis(seed, mismatches=n + seed, leakage={"USD": 1000 * n * seed})
            for n, point in enumerate(sweep.points) for seed in sweep.seeds}
    summary = sweep_summary(sweep, runs)
    kept = {"reconciliation.mismatches", "revenue_leakage.USD", "invoices.cycle_time_hours.p50"}  # three panels
    summary["kpis"] = [kpi for kpi in summary["kpis"] if kpi["id"] in kept]  # draw quickly; the rest is as written
    assert {kpi["id"] for kpi in summary["kpis"]} == kept
    (tmp_path / "sweep.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text()
    assert "3 grid points, each on seeds 1–3" in page
    for kpi in summary["kpis"]:
        title = kpi["label"] + (f" ({kpi['currency']})" if kpi["currency"] else "")
        assert f">{textwrap.wrap(title, 50)[0]}" in page, title
    for tick in (">0</text>", ">0.1</text>", ">0.2</text>"):  # a numeric axis, at the swept values
        assert tick in page


def test_the_sweep_view_keeps_bands_where_there_are_intervals() -> None:
    from simulator.report_html.inputs import SweepSummary
    from simulator.report_html.sweep_view import sweep_view

    view = sweep_view(SweepSummary.model_validate(sweep_document()))
    assert view.ticks == [(0.0, "[0, 48]"), (1.0, "[24, 72]"), (2.0, "[48, 96]")]
    cycle, leakage = view.panels
    assert [s.name for s in cycle.series] == ["faults.http[0].rate = 0", "faults.http[0].rate = 0.1"]
    assert cycle.series[1].mean == [150.0, 250.0, 350.0] and cycle.series[1].low == [140.0, 240.0, 340.0]
    assert leakage.unit == "USD" and leakage.series[1].mean == [10.0, 10.0, 10.0]  # minor units shown as major
    assert leakage.series[1].low == [None, None, None]


# -- bad input -------------------------------------------------------------------------------------------


def damaged(run_dir: Path, tmp_path: Path, name: str, text: str) -> Path:
    copy_dir = tmp_path / "damaged"
    shutil.copytree(run_dir, copy_dir)
    (copy_dir / name).write_text(text)
    return copy_dir


def report_error(*args: str) -> str:
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output.strip()


def test_a_path_that_is_no_c2c_output(tmp_path: Path) -> None:
    assert report_error(str(tmp_path / "nope")) == f"error: {tmp_path / 'nope'}: no such file or directory"
    assert report_error(str(tmp_path)).startswith(f"error: {tmp_path}: not a c2c output: expected kpis.json")
    (tmp_path / "kpis.json").write_text("{}")
    assert report_error(str(tmp_path)) == (f"error: {tmp_path / 'events.jsonl'}: missing; a c2c simulate --out "
                                           "directory has kpis.json, events.jsonl, mismatches.jsonl and run.json")
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--out", ""])  # click's own usage error
    assert result.exit_code == 2 and "Invalid value for '--out': must name a file; got an empty string" in result.output


def test_damaged_files_are_named_with_their_line_and_field(run_dir: Path, tmp_path: Path) -> None:
    events = (run_dir / "events.jsonl").read_text().splitlines()
    broken = "\n".join(events[:4] + ['{"seq": 5, "t": 1767225600.0, "kind": "api", "system": "erp"'] + events[5:])
    directory = damaged(run_dir, tmp_path / "a", "events.jsonl", broken)
    assert report_error(str(directory)).startswith(f"error: {directory / 'events.jsonl'} line 5: not JSON: ")
    no_status = "\n".join(events[:6] + ['{"seq": 7, "t": 1.0, "kind": "api", "system": "erp", "method": "GET", '
                                        '"path": "/x"}'] + events[7:])
    directory = damaged(run_dir, tmp_path / "b", "events.jsonl", no_status)
    assert report_error(str(directory)) == f"error: {directory / 'events.jsonl'} line 7: status: missing (a api record)"
    one_contract = "\n".join(events[:7] + ['{"seq": 8, "t": 1.0, "kind": "event", "system": "erp", "type": '
                                           '"erp.invoice.created", "entity": "inv_1", "version": 1, '
                                           '"contracts": "ctr_1"}'] + events[8:])
    directory = damaged(run_dir, tmp_path / "b2", "events.jsonl", one_contract)
    assert report_error(str(directory)) == (f"error: {directory / 'events.jsonl'} line 8: contracts: not a list of "
                                            "strings (an event record)")
    kpis = json.loads((run_dir / "kpis.json").read_text())
    del kpis["invoices"]["cycle_time_hours"]
    directory = damaged(run_dir, tmp_path / "c", "kpis.json", json.dumps(kpis))
    assert report_error(str(directory)) == f"error: {directory / 'kpis.json'}: invoices.cycle_time_hours: missing"
    directory = damaged(run_dir, tmp_path / "d", "mismatches.jsonl",
                        '{"rule": "cap", "item": "clm:contract/ctr_1", "money_at_stake": "lots"}\n')
    assert report_error(str(directory)) == (f"error: {directory / 'mismatches.jsonl'} line 1: money_at_stake: "
                                            "Input should be a valid integer")
    kpis = json.loads((run_dir / "kpis.json").read_text())
    directory = damaged(run_dir, tmp_path / "e", "kpis.json", json.dumps({**kpis, "schema_version": "2.0"}))
    assert report_error(str(directory)).endswith("schema_version: '2.0' is not 1.x, the version this report reads")


def test_a_damaged_compare_or_sweep_file(tmp_path: Path) -> None:
    (tmp_path / "compare.json").write_text('{"schema_version": "1.0", "confidence": 0.95, "a": {"scenario": "x", '
                                           '"seeds": [1]}, "b": {"scenario": "y", "seeds": [1]}, "metrics": [{}]}')
    assert report_error(str(tmp_path / "compare.json")) == f"error: {tmp_path / 'compare.json'}: metrics.0.id: missing"
    sweep = sweep_document()
    sweep["points"][2]["kpis"]["revenue_leakage.USD"]["mean"] = "high"
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "sweep.json").write_text(json.dumps(sweep))
    assert report_error(str(tmp_path / "s")) == (
        f"error: {tmp_path / 's' / 'sweep.json'}: points.2.kpis.revenue_leakage.USD.mean: Value error, must be a number")


def test_a_served_run_whose_firm_stopped_waiting_says_when(run_dir: Path, page: str, tmp_path: Path) -> None:
    """``c2c serve --out`` traces the moment its hold budget for the connector ran out; the page says when,
    since lag after it overstates what the connector does (a simulated run never has one)."""
    served = tmp_path / "served"
    shutil.copytree(run_dir, served)
    (served / "report.html").unlink()
    records = jsonl(served / "events.jsonl")
    at = records[len(records) // 2]["t"]
    records.insert(len(records) // 2, {"seq": 0, "t": at, "kind": "firm_stopped_waiting", "held_s": 600.3,
                                       "budget_s": 600.0})
    (served / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = CliRunner().invoke(main, ["report", str(served)])
    assert result.exit_code == 0, result.output
    when = dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
    served_page = (served / "report.html").read_text(encoding="utf-8")
    assert f'<div class="label">firm stopped waiting</div><div class="value">{when}</div>' in served_page
    assert "after holding 600.3 wall s for the connector (budget 600.0 s)" in served_page
    assert "firm stopped waiting" not in page
