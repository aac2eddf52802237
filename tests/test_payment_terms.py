"""Payment terms per contract: ``contracts.payment_terms_days`` as one value or a list each contract draws from.

A billing project must carry its contract's payment terms (C2C-BILL-008), and its invoices fall due that many days
after posting. With every contract on net 30, the ERP's default, a connector that never sent them could not be
told apart; the billing scenario lists four terms, drawn per deal from a stream of the deal's own, so listing them
moves no other draw.
"""

from __future__ import annotations

import datetime as dt

import pytest

from simulator.oracle import reconcile
from simulator.scenario import ScenarioError, load_scenario
from tests.broken_connectors.omits_payment_terms import build as omits_payment_terms
from tests.conftest import ROOT

BILLING = ROOT / "conformance" / "scenarios" / "billing.yaml"
LISTED = [14, 30, 45, 60]


@pytest.fixture(scope="module")
def run(simulation):
    return simulation(load_scenario(BILLING), 1)


def test_each_contract_draws_its_terms_and_its_billing_project_and_invoices_follow_them(run) -> None:
    clm, erp = run.systems.clm, run.systems.erp
    terms = {c.id: c.terms.payment_terms_days for c in clm.contracts.values()}
    assert set(terms.values()) <= set(LISTED) and len(set(terms.values())) >= 3, terms
    projects = erp.billing_projects
    assert projects and all(p.payment_terms_days == terms[p.contract_ref] for p in projects.values())
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
    assert {c.terms.payment_terms_days for c in other.systems.clm.contracts.values()} == {30}


def test_a_connector_that_omits_them_is_named_on_each_contract_off_net_30(run, simulation) -> None:
    broken = simulation(load_scenario(BILLING), 1, factory=omits_payment_terms)
    findings = [m for m in broken.reconciliation.mismatches if m.rule == "billing_project"]
    off_30 = {c.id for c in run.systems.clm.contracts.values() if c.terms.payment_terms_days != 30
              and c.signed_at is not None}
    assert {m.item.removeprefix("clm:contract/") for m in findings} == off_30
    assert all("field payment_terms_days differs" in m.detail and m.actual == 30 for m in findings)
    assert not reconcile(run.systems, run.truth).mismatches


@pytest.mark.parametrize(("value", "words"), [
    ("[]", "at least 1 item"),
    ("[30, 121]", "less than or equal to 120"),
    ("true", "not the boolean"),
    ("[14, thirty]", "valid integer"),
])
def test_bad_terms_are_named_at_their_field(tmp_path, value: str, words: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: {BILLING}\ncontracts:\n  payment_terms_days: {value}\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    message = str(error.value)
    assert "contracts.payment_terms_days" in message and "line 3" in message and words in message, message
