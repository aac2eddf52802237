"""Clients who query their final invoice: hours written off after a contract ends, and the credit notes that follow.

With ``people.final_invoice_write_offs`` the firm's PM cuts the hours of one
billable line of an ended contract, on an approved sheet, after the run
that followed the end; the sheet is approved again, the connector reverses
the line's charge and charges the hours kept, and with no new work the
contract's next run nets negative: the ERP issues a credit note, which
carries the line's new charge. The billing scenario has them on every seed,
so the credit-note path (the ERP's series, the write-back to the PSA, what
customers do with one) runs in certification, not only in hand-made books.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from simulator.oracle import reconcile
from simulator.scenario import load_scenario
from tests.conftest import ROOT

BILLING = ROOT / "conformance" / "scenarios" / "billing.yaml"


@pytest.fixture(scope="module")
def run(simulation):
    return simulation(load_scenario(BILLING), 1)


def _credit_notes(erp) -> list:
    return [d for d in erp.invoices.values() if d.status == "posted" and d.document_type == "credit_note"]


def test_the_pm_cuts_one_billable_line_of_an_ended_contract_after_its_final_run(run) -> None:
    write_offs = run.truth.write_offs
    assert len(write_offs) >= 2, write_offs
    psa, clm = run.systems.psa, run.systems.clm
    for line_id, write_off in write_offs.items():
        sheet, line = psa.lines[line_id]
        assert run.truth.contract_of(line.project_id) == write_off.contract_id
        assert line.billable and sheet.status == "approved" and sheet.version > 1
        assert line.hours == write_off.kept and write_off.kept < write_off.hours
        assert write_off.kept >= Decimal("0.25") and (write_off.kept * 4) % 1 == 0  # quarter hours, some kept
        end = dt.date.fromisoformat(clm.contracts[write_off.contract_id].terms.end_date)
        assert line.date <= end.isoformat()
        assert sheet.approved_at[:10] > end.isoformat()  # approved again after the end, so after the final run
    assert run.kpis["ledger"]["write_offs"] == len(write_offs)
    assert run.kpis["ledger"]["hours_written_off"] == float(sum(w.hours - w.kept for w in write_offs.values()))


def test_each_write_off_is_credited_and_the_books_still_reconcile(run) -> None:
    erp = run.systems.erp
    notes = _credit_notes(erp)
    assert notes, "the billing scenario must issue a credit note on every seed"
    written_off = {w.contract_id for w in run.truth.write_offs.values()}
    for note in notes:
        assert note.total < 0 and note.number.split("-")[1] == "CN", note
        assert erp.billing_projects[note.billing_project_id].contract_ref in written_off
    # the kept hours are charged anew on a credit note: a positive line beside the reversal
    kept_on_notes = {line["lineage"]["source_id"] for note in notes for line in note.lines if line["amount"] > 0}
    assert kept_on_notes & set(run.truth.write_offs)
    assert run.reconciliation.ok, run.reconciliation.mismatches[:3]
    assert run.kpis["invoices"]["credit_notes"]["count"] == len(notes)


def test_the_psa_must_cite_the_credit_note_that_now_bills_the_line(run) -> None:
    """The write-back of a credit note: a PSA still citing the reversed invoice is a billing_writeback mismatch."""
    notes = _credit_notes(run.systems.erp)
    psa = run.systems.psa
    line_id = sorted({line["lineage"]["source_id"] for note in notes for line in note.lines
                      if line["amount"] > 0 and line["lineage"]["source_type"] == "timesheet_line"})[0]
    _, line = psa.lines[line_id]
    cited = line.invoice_ref
    assert cited in {note.number for note in notes}
    earlier = next(d.number for d in sorted(run.systems.erp.invoices.values(), key=lambda d: d.number or "")
                   if d.document_type == "invoice" and any(x["lineage"].get("source_id") == line_id for x in d.lines))
    line.invoice_ref = earlier  # what a write-back that ignores credit notes leaves
    try:
        mismatches = reconcile(run.systems, run.truth).mismatches
    finally:
        line.invoice_ref = cited  # the run is shared: put it back
    assert [(m.rule, m.item) for m in mismatches] == [("billing_writeback", f"psa:timesheet_line/{line_id}")]
    assert "later invoice or credit note" in mismatches[0].detail and mismatches[0].expected == [cited]


def test_without_write_offs_the_firm_draws_nothing_for_them(simulation) -> None:
    """The knob at 0 (every shipped scenario but the billing one) leaves a run exactly as it was."""
    scenario = load_scenario(BILLING)
    calm = scenario.model_copy(update={"people": scenario.people.model_copy(update={"final_invoice_write_offs": 0.0})})
    result = simulation(calm, 1)
    assert not result.truth.write_offs and not _credit_notes(result.systems.erp)
    assert result.kpis["ledger"]["write_offs"] == 0 and result.kpis["ledger"]["hours_written_off"] == 0
