"""The billing scenario's variety: payment terms, milestone sizes and leads, each drawn per deal or lead.

Where every contract was on net 30 (the ERP's default), every milestone of a contract the same size, and every
account the firm made went on to sign, a connector that never sent payment terms, charged each milestone the fee
over the milestone count, or created customers only at a contract's signing charged and mapped what the oracle
wanted. The billing scenario now lists payment terms (``contracts.payment_terms_days``), weights milestones
(``contracts.milestone_split: drawn``) and enters leads that never buy (``customers.leads``). Each is drawn from
streams of its own, so setting it moves no other draw. That each such connector fails its requirement is
tests/conformance/test_escaped_defects.py's ``omits_payment_terms``, ``splits_fees_evenly_across_milestones`` and
``creates_customers_at_signing``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from simulator.scenario import CURRENCY_MINOR_UNITS, load_scenario
from tests.conftest import ROOT

BILLING = ROOT / "conformance" / "scenarios" / "billing.yaml"
LISTED_TERMS = [14, 30, 45, 60]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BILLING)


@pytest.fixture(scope="module")
def run(simulation, scenario):
    return simulation(scenario, 1)


@pytest.fixture(scope="module")
def plain(simulation, scenario):
    """The same scenario with none of the three: net 30 for all, milestones even, no leads."""
    contracts = scenario.contracts.model_copy(update={"payment_terms_days": [30], "milestone_split": "even"})
    customers = scenario.customers.model_copy(update={"leads": 0})
    return simulation(scenario.model_copy(update={"contracts": contracts, "customers": customers}), 1)


def _leads(result) -> list:
    crm = result.systems.crm
    buying = {o.account_id for o in crm.opportunities.values()}
    return [a for a in crm.accounts.values() if a.id not in buying]


def _signed_milestones(result) -> dict[str, tuple[str, list[int]]]:
    """Each fixed-fee contract's currency and milestone amounts as signed (before any amendment)."""
    signed = {}
    for contract in result.systems.clm.contracts.values():
        if contract.billing_type == "fixed_fee_milestones":
            terms = contract.history[0] if contract.history else contract.terms
            signed[contract.id] = contract.currency, [m.amount for m in terms.milestones]
    return signed


def test_each_contract_draws_its_terms_and_its_invoices_fall_due_by_them(run) -> None:
    clm, erp = run.systems.clm, run.systems.erp
    terms = {c.id: c.terms.payment_terms_days for c in clm.contracts.values()}
    assert set(terms.values()) <= set(LISTED_TERMS) and len(set(terms.values())) >= 3, terms
    projects = erp.billing_projects
    posted = [i for i in erp.invoices.values() if i.status == "posted" and i.document_type == "invoice"]
    assert len({projects[i.billing_project_id].payment_terms_days for i in posted}) >= 2
    for invoice in posted:  # a credit note falls due on nothing
        due = dt.date.fromisoformat(invoice.posted_at[:10]) + dt.timedelta(
            days=projects[invoice.billing_project_id].payment_terms_days)
        assert invoice.due_date == due.isoformat(), invoice


def test_drawn_milestones_differ_in_size_and_share_the_same_fee(run, plain) -> None:
    drawn, even = _signed_milestones(run), _signed_milestones(plain)
    assert drawn.keys() == even.keys() and len(drawn) >= 2
    assert all(len(set(amounts)) == 1 for _, amounts in even.values())
    assert sum(len(set(amounts)) > 1 for _, amounts in drawn.values()) >= len(drawn) // 2, drawn
    for contract, (currency, amounts) in drawn.items():  # each share is rounded to 10 major units
        step = 10 * 10 ** CURRENCY_MINOR_UNITS[currency]
        assert abs(sum(amounts) - sum(even[contract][1])) <= 2 * step * len(amounts), (amounts, even[contract])


def test_the_leads_come_in_the_last_month_and_each_is_a_customer(run, plain, scenario) -> None:
    leads = _leads(run)
    assert len(leads) == scenario.customers.leads == 3 and not _leads(plain)
    last_month = (scenario.end - dt.timedelta(days=30)).isoformat()
    assert all(lead.created_at >= last_month for lead in leads), [lead.created_at for lead in leads]
    customers = {c.external_ref for c in run.systems.erp.customers.values()}
    assert {lead.id for lead in leads} <= customers
    assert not run.reconciliation.mismatches


def test_none_of_them_moves_another_draw(run, plain) -> None:
    """Without them the firm signs the same contracts for the same accounts, on the same terms but for payment and
    milestone amounts, and makes the same accounts before the leads."""
    def deals(result) -> list:
        return [(c.id, c.account_id, c.billing_type, c.currency,
                 c.terms.to_json() | {"payment_terms_days": None, "milestones": [m.ref for m in c.terms.milestones]})
                for c in result.systems.clm.contracts.values()]

    assert deals(plain) == deals(run)
    accounts = [(a.id, a.legal_name) for a in run.systems.crm.accounts.values()]
    assert [(a.id, a.legal_name) for a in plain.systems.crm.accounts.values()] == accounts[:len(accounts) - 3]
