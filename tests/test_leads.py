"""Leads that never buy: ``customers.leads`` accounts entered in the CRM in the run's last month.

Each CRM account is exactly one ERP customer, whether or not a deal was won (C2C-BILL-008). Where every account
the firm made went on to sign, a connector that created customers only at a contract's signing could not be told
apart; the billing scenario enters three leads on every seed, from streams and a Faker of their own, so no other
draw moves. That such a connector fails C2C-BILL-008 is tests/conformance/test_escaped_defects.py's
``creates_customers_at_signing``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from simulator.scenario import load_scenario
from tests.conftest import ROOT

BILLING = ROOT / "conformance" / "scenarios" / "billing.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BILLING)


@pytest.fixture(scope="module")
def run(simulation, scenario):
    return simulation(scenario, 1)


def _leads(result) -> list:
    crm = result.systems.crm
    buying = {o.account_id for o in crm.opportunities.values()}
    return [a for a in crm.accounts.values() if a.id not in buying]


def test_the_leads_come_in_the_last_month_and_each_is_a_customer(run, scenario) -> None:
    leads = _leads(run)
    assert len(leads) == scenario.customers.leads == 3
    last_month = (scenario.end - dt.timedelta(days=30)).isoformat()
    assert all(lead.created_at >= last_month for lead in leads), [lead.created_at for lead in leads]
    customers = {c.external_ref for c in run.systems.erp.customers.values()}
    assert {lead.id for lead in leads} <= customers
    assert not run.reconciliation.mismatches


def test_leads_move_no_other_draw(run, simulation, scenario) -> None:
    without = simulation(scenario.model_copy(update={"customers": scenario.customers.model_copy(
        update={"leads": 0})}), 1)
    assert not _leads(without)

    def deals(result) -> list:
        return [(c.id, c.account_id, c.billing_type, c.terms.to_json()) for c in result.systems.clm.contracts.values()]

    assert deals(without) == deals(run)
    assert [(a.id, a.legal_name) for a in without.systems.crm.accounts.values()] == [
        (a.id, a.legal_name) for a in run.systems.crm.accounts.values()][:len(without.systems.crm.accounts)]
