"""Accounts that rebrand: ``people.account_renames`` gives some account updates a new legal name.

A customer's legal and display names must follow its account (C2C-ORDER-002 judges the customers of the
stale-versions scenario at the accounts' last versions). Until accounts were renamed, a connector whose update
carried only the address and tax id could not be told apart. Renames are drawn from a stream of their own, so
every other change the firm makes stays as it was. (That a connector whose update leaves the name out fails
C2C-ORDER-002 is tests/conformance/test_escaped_defects.py's ``patches_address_and_tax_id_only``.)
"""

from __future__ import annotations

import pytest

from simulator.firm.sales import LEGAL_FORMS
from simulator.scenario import load_scenario
from tests.conftest import ROOT

STALE_VERSIONS = ROOT / "conformance" / "scenarios" / "stale_versions.yaml"
ERP_NAME_LIMIT = 40


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(STALE_VERSIONS)


@pytest.fixture(scope="module")
def run(simulation, scenario):
    return simulation(scenario, 1)


def _without_renames(scenario):
    return scenario.model_copy(update={"people": scenario.people.model_copy(update={"account_renames": 0.0})})


def test_some_accounts_rebrand_some_past_the_erp_s_limit_and_the_customers_follow(run, simulation, scenario) -> None:
    before = {a.id: a.legal_name for a in simulation(_without_renames(scenario), 1).systems.crm.accounts.values()}
    after = {a.id: a.legal_name for a in run.systems.crm.accounts.values()}
    renamed = {account for account in after if after[account] != before[account]}
    assert len(renamed) >= 3, renamed
    assert any(len(after[account]) > ERP_NAME_LIMIT for account in renamed)
    assert all(after[a].endswith(tuple(LEGAL_FORMS)) and after[a].split()[0] == before[a].split()[0] for a in renamed)
    customers = {c.external_ref: c for c in run.systems.erp.customers.values()}
    assert all(customers[a].legal_name == after[a] for a in renamed)
    assert not run.reconciliation.mismatches


def test_renames_move_no_other_change_of_the_firm(run, simulation, scenario) -> None:
    """Without renames the accounts make the same other changes, in the same order, on the same days."""
    def changes(result):
        return [(a.id, a.tax_id, a.billing_address) for a in result.systems.crm.accounts.values()]

    assert changes(simulation(_without_renames(scenario), 1)) == changes(run)

