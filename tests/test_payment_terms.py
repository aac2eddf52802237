"""Payment terms per contract: ``contracts.payment_terms_days`` as one value or a list each contract draws from.

A billing project must carry its contract's payment terms (C2C-BILL-008), and its invoices fall due that many days
after posting. With every contract on net 30, the ERP's default, a connector that never sent them could not be
told apart; the billing scenario lists four terms, drawn per deal from a stream of the deal's own, so listing them
moves no other draw. (That a connector which leaves them out fails C2C-BILL-008 is
tests/conformance/test_escaped_defects.py's ``omits_payment_terms``.)
"""

from __future__ import annotations

import datetime as dt

import pytest

from simulator.scenario import load_scenario
from tests.conftest import ROOT

BILLING = ROOT / "conformance" / "scenarios" / "billing.yaml"
LISTED = [14, 30, 45, 60]


@pytest.fixture(scope="module")
def run(simulation):
    return simulation(load_scenario(BILLING), 1)


def test_each_contract_draws_its_terms_and_its_invoices_fall_due_by_them(run) -> None:
    clm, erp = run.systems.clm, run.systems.erp
    terms = {c.id: c.terms.payment_terms_days for c in clm.contracts.values()}
    assert set(terms.values()) <= set(LISTED) and len(set(terms.values())) >= 3, terms
    projects = erp.billing_projects
    posted = [i for i in erp.invoices.values() if i.status == "posted" and i.document_type == "invoice"]
    assert len({projects[i.billing_project_id].payment_terms_days for i in posted}) >= 2
    for invoice in posted:  # a credit note falls due on nothing
        due = dt.date.fromisoformat(invoice.posted_at[:10]) + dt.timedelta(
            days=projects[invoice.billing_project_id].payment_terms_days)
        assert invoice.due_date == due.isoformat(), invoice


def test_listing_terms_moves_no_other_draw(run, simulation) -> None:
    """The same scenario on net 30 alone signs the same contracts, on the same terms but for payment."""
    scenario = load_scenario(BILLING)
    single = scenario.model_copy(update={"contracts": scenario.contracts.model_copy(
        update={"payment_terms_days": [30]})})
    other = simulation(single, 1)

    def signed(result) -> list:
        return [(c.id, c.account_id, c.billing_type, c.currency, c.terms.to_json() | {"payment_terms_days": None})
                for c in result.systems.clm.contracts.values()]

    assert signed(other) == signed(run)

