"""Mutants whose amounts are all right, but whose invoices are still wrong.

The oracle must see defects that net charges alone cannot: an invoice to
the wrong company, the wrong tax jurisdiction on a customer (so the wrong
tax on every invoice), and a PSA that never learns what was billed.
"""

from __future__ import annotations

import pytest

from simulator.run import SimulationResult, simulate
from tests.broken_connectors import no_writeback, wrong_customer, wrong_tax_jurisdiction

pytestmark = pytest.mark.slow  # each test a planted defect's whole run: in the slow suite, which CI runs

SEED = 1


def rules(result: SimulationResult) -> set[str]:
    return {m.rule for m in result.reconciliation.mismatches}


@pytest.fixture(scope="module")
def wrong_customer_result(baseline) -> SimulationResult:
    return simulate(baseline, seed=SEED, factory=wrong_customer.build)


def test_wrong_customer_is_named_per_contract(wrong_customer_result: SimulationResult) -> None:
    result = wrong_customer_result
    erp, clm = result.systems.erp, result.systems.clm
    customer_of = {c.external_ref: c.id for c in erp.customers.values()}
    misrouted = {f"clm:contract/{p.contract_ref}" for p in erp.billing_projects.values()
                 if p.customer_id != customer_of.get(clm.contracts[p.contract_ref].account_id)}
    assert misrouted, "seed 1 has contracts of more than one account"
    flagged = {m.item for m in result.reconciliation.mismatches if m.rule == "billing_project"}
    assert flagged == misrouted
    assert not result.reconciliation.leakage and not result.reconciliation.over_billing


def test_wrong_tax_jurisdiction_is_caught_on_customers_and_invoice_tax(baseline) -> None:
    result = simulate(baseline, seed=SEED, factory=wrong_tax_jurisdiction.build)
    crm, erp = result.systems.crm, result.systems.erp
    wrong = {f"crm:account/{c.external_ref}" for c in erp.customers.values()
             if crm.accounts[c.external_ref].tax_jurisdiction != "US-OR"}
    assert wrong
    flagged = {m.item for m in result.reconciliation.mismatches
               if m.rule == "customer_master_data" and "tax_jurisdiction" in m.detail}
    assert flagged == wrong
    assert "invoice_tax" in rules(result)  # the invoices carry 0 % where the customer owes tax
    assert rules(result) <= {"customer_master_data", "invoice_tax"}


def test_missing_writeback_is_caught_per_billed_item(baseline) -> None:
    result = simulate(baseline, seed=SEED, factory=no_writeback.build)
    assert rules(result) == {"billing_writeback"}
    flagged = {m.item for m in result.reconciliation.mismatches}
    billed = set()
    for invoice in result.systems.erp.invoices.values():
        for line in invoice.lines:
            lineage = line["lineage"]
            if invoice.status == "posted" and line["amount"] > 0 and lineage["source_type"] != "retainer_period":
                billed.add(f"psa:{lineage['source_type']}/{lineage['source_id']}")
    assert billed and flagged == billed
