"""What a connector tells the PSA and shows on the ERP's charges, beyond the amounts, each a mismatch of its own.

- A PSA project starts on the first day of its contract's term
  (``psa_project``).
- A PSA milestone carries the planned date the connector wrote when it set
  up the contract. The oracle takes a milestone's date (which billing run it
  is due on, whether it was billed in advance) from the contract's term, and
  a PSA milestone planned on another date is ``psa_milestone_date``: one
  wrong record, named once, moving nothing else.
- The write-back cites the invoice that bills the work now: one carrying a
  charge of it that no later charge reversed (``billing_writeback``).
- A labour charge shows the line's hours and rate (``hours_and_rate``).
- The ERP customer's display name is the CRM's legal name wherever it fits
  (``customer_master_data``).
- Every CRM account is an ERP customer, whether or not a deal was signed
  with it (``missing_customer``).
- A reversal carries the lineage of the charge it reverses (``lineage``);
  an expense is one unit at its value (``hours_and_rate``); a retainer
  month is dated on its first day (``misdated_charge``).

Each test changes one record of a shared reference run (and puts it back),
so the mismatch it expects is the only one.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from simulator.oracle import reconcile
from simulator.valuation import Valuer


def _one_change(result, record, field: str, value) -> list:
    """The mismatches of the shared run with one field of one record changed (and put back)."""
    kept = getattr(record, field)
    setattr(record, field, value)
    try:
        return reconcile(result.systems, result.truth).mismatches
    finally:
        setattr(record, field, kept)  # the run is shared: put it back


def test_a_milestone_planned_on_another_date_is_named_and_moves_no_money(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    assert result.reconciliation.ok
    milestones = sorted(result.systems.psa.milestones.values(), key=lambda m: m.id)
    moved = next(m for m in milestones if m.status == "approved")
    planned = moved.planned_date
    moved.planned_date = "2027-12-31"  # a year past the run: a due run of its own, had the oracle read it
    try:
        mismatches = reconcile(result.systems, result.truth).mismatches
        item = Valuer(result.systems, result.truth).milestone(moved.id)
    finally:
        moved.planned_date = planned  # the run is shared: put it back
    assert [(m.rule, m.item, m.expected, m.actual) for m in mismatches] == [
        ("psa_milestone_date", f"psa:milestone/{moved.id}", planned, "2027-12-31")]
    assert item.date == planned  # its due run and "billed in advance" are the contract's, not the record's


def test_every_psa_milestone_of_the_reference_is_planned_on_its_contracts_date(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    clm, psa = result.systems.clm, result.systems.psa
    contract_of = {p.id: p.contract_ref for p in psa.projects.values()}
    assert psa.milestones
    for milestone in psa.milestones.values():
        terms = {t.ref: t.planned_date for t in clm.contracts[contract_of[milestone.project_id]].terms.milestones}
        assert milestone.planned_date == terms[milestone.ref]


def _standing_and_reversed(result) -> tuple[str, str, str]:
    """A timesheet line whose first invoiced charge was reversed and which a later posted invoice bills again:
    (line id, the first invoice's number, the later one's)."""
    erp = result.systems.erp
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    number = {i.id: i.number for i in erp.invoices.values() if i.status == "posted"}
    first: dict[str, str] = {}
    for charge in erp.charges.values():
        if charge.lineage.get("source_type") == "timesheet_line" and charge.amount > 0 and charge.invoice_id in number:
            line = charge.lineage["source_id"]
            if charge.id in reversed_ids:
                first.setdefault(line, number[charge.invoice_id])
            elif line in first and number[charge.invoice_id] != first[line]:
                return line, first[line], number[charge.invoice_id]
    raise AssertionError("no line was billed again on a later invoice")


def test_the_psa_cites_the_invoice_that_bills_the_work_now(simulation, baseline) -> None:
    """Work reversed and billed again cites the later invoice; citing the first, whose line for it was taken back,
    is a ``billing_writeback`` mismatch that says so."""
    result = simulation(baseline, 1)
    line_id, first, later = _standing_and_reversed(result)
    line = result.systems.psa.lines[line_id][1]
    assert line.invoice_ref == later  # the reference
    mismatches = _one_change(result, line, "invoice_ref", first)
    assert [(m.rule, m.item, m.expected, m.actual) for m in mismatches] == [
        ("billing_writeback", f"psa:timesheet_line/{line_id}", [later], first)]
    assert "whose charge for it was reversed" in mismatches[0].detail


def test_a_labour_charge_shows_the_hours_and_the_rate(simulation, baseline) -> None:
    """One unit at the line's amount adds up, and is a ``hours_and_rate`` mismatch; so is a wrong rate that
    happens to give the same amount."""
    result = simulation(baseline, 1)
    erp = result.systems.erp
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    charge = next(c for c in erp.charges.values() if c.lineage.get("source_type") == "timesheet_line"
                  and c.status == "invoiced" and c.id not in reversed_ids and c.quantity not in (0, 1))
    hours, rate = charge.quantity, charge.unit_price
    for quantity, unit_price in ((Decimal(1), charge.amount), (hours * 2, Fraction(rate, 2))):
        charge.quantity, charge.unit_price = quantity, unit_price
        try:
            mismatches = reconcile(result.systems, result.truth).mismatches
        finally:
            charge.quantity, charge.unit_price = hours, rate
        assert [(m.rule, m.item) for m in mismatches] == [("hours_and_rate", f"erp:charge/{charge.id}")]
        assert mismatches[0].expected == f"quantity {hours} at unit_price {rate}"


def test_the_erp_prints_the_legal_name_wherever_it_fits(simulation, baseline) -> None:
    """A customer's display name is the CRM's legal name when that fits the ERP's 40 characters; a longer name
    may be shortened however the connector sees fit (the full text travels in ``legal_name``)."""
    result = simulation(baseline, 1)
    customer = sorted(result.systems.erp.customers.values(), key=lambda c: c.id)[0]
    account = result.systems.crm.accounts[customer.external_ref]
    kept = (account.legal_name, customer.legal_name, customer.name)
    assert customer.name == account.legal_name and len(account.legal_name) <= 40
    try:
        customer.name = account.legal_name[:30]
        cut = reconcile(result.systems, result.truth).mismatches
        long_name = "Acme International Professional Services Group plc"
        account.legal_name = customer.legal_name = long_name
        customer.name = "Acme Intl. Prof. Services Group plc"
        shortened = reconcile(result.systems, result.truth).mismatches
    finally:
        account.legal_name, customer.legal_name, customer.name = kept
    assert [(m.rule, m.item, m.expected, m.actual) for m in cut] == [
        ("customer_master_data", f"crm:account/{account.id}", kept[0], kept[0][:30])]
    assert shortened == []


def test_a_psa_project_starts_with_its_contracts_term(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    project = sorted(result.systems.psa.projects.values(), key=lambda p: p.id)[0]
    starts = project.start_date
    assert starts == result.systems.clm.contracts[project.contract_ref].terms.start_date  # the reference
    mismatches = _one_change(result, project, "start_date", "2025-12-20")  # the day it was signed, say
    assert [(m.rule, m.item, m.expected, m.actual) for m in mismatches] == [
        ("psa_project", f"psa:project/{project.id}", starts, "2025-12-20")]


def test_every_crm_account_is_an_erp_customer_whether_or_not_its_deal_was_won(simulation, baseline) -> None:
    """C2C-BILL-008: each CRM account is exactly one ERP customer; a connector that creates customers only at
    signing leaves the accounts of lost deals without one (``missing_customer``)."""
    result = simulation(baseline, 1)
    erp, clm = result.systems.erp, result.systems.clm
    signed = {c.account_id for c in clm.contracts.values() if c.status == "signed"}
    unsigned = sorted((c for c in erp.customers.values() if c.external_ref not in signed), key=lambda c: c.id)
    assert unsigned, "the baseline firm loses deals: some accounts never sign"
    customer = unsigned[0]
    del erp.customers[customer.id]
    try:
        mismatches = reconcile(result.systems, result.truth).mismatches
    finally:
        erp.customers[customer.id] = customer  # the run is shared: put it back
    assert [(m.rule, m.item, m.detail) for m in mismatches] == [
        ("missing_customer", f"crm:account/{customer.external_ref}", "the CRM account has no ERP customer")]


def test_a_reversal_carries_the_lineage_of_the_charge_it_reverses(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    clm = result.systems.clm
    reversal = sorted((c for c in result.systems.erp.charges.values() if c.reversal_of
                       and clm.contracts[c.lineage["contract_id"]].version > 1), key=lambda c: c.id)[0]
    cited = reversal.lineage["contract_version"]
    other = 2 if cited == 1 else 1  # a version that exists: only the reversal rule can object
    mismatches = _one_change(result, reversal, "lineage", {**reversal.lineage, "contract_version": other})
    assert [(m.rule, m.item) for m in mismatches] == [("lineage", f"erp:charge/{reversal.id}")]
    assert "a reversal carries the lineage of the charge it reverses" in mismatches[0].detail
    assert f"contract_version {other} for {cited}" in str(mismatches[0].actual)


def test_an_expense_is_one_unit_at_its_value(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    erp = result.systems.erp
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    expense = sorted((c for c in erp.charges.values() if c.lineage.get("source_type") == "expense"
                      and c.amount > 0 and c.status != "released" and c.id not in reversed_ids and not c.reversal_of),
                     key=lambda c: c.id)[0]
    assert expense.quantity == 1 and expense.unit_price == expense.amount  # the reference
    mismatches = _one_change(result, expense, "quantity", Decimal("1.125"))
    assert [(m.rule, m.item) for m in mismatches] == [("hours_and_rate", f"erp:charge/{expense.id}")]
    assert "is charged as one unit at its value" in mismatches[0].detail


def test_a_retainer_month_is_charged_on_its_first_day(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    retainer = sorted((c for c in result.systems.erp.charges.values()
                       if c.lineage.get("source_type") == "retainer_period" and c.amount > 0 and not c.reversal_of),
                      key=lambda c: c.id)[0]
    assert retainer.charge_date.endswith("-01")  # the reference
    mismatches = _one_change(result, retainer, "charge_date", retainer.charge_date[:8] + "28")
    assert [m.rule for m in mismatches] == ["misdated_charge"], mismatches
    assert "a retainer month is charged on its first day" in mismatches[0].detail
