"""CLM contracts: rate-card integrity, versions and ETags (mocks/clm)."""

from __future__ import annotations

import pytest

from tests.mocks.factories import assert_problem, create


def contract_body(rate_card: list[dict] | None = None, **overrides) -> dict:
    body = {
        "account_id": "acc_1", "legal_entity": "US01", "currency": "USD", "billing_type": "time_and_materials",
        "title": "SOW", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "rate_card": rate_card or [{"role": "dev", "rate": 10_000, "effective_from": "2026-01-01"}],
    }
    body.update(overrides)
    return body


def rate(role: str, amount: int, effective_from: str) -> dict:
    return {"role": role, "rate": amount, "effective_from": effective_from}


@pytest.fixture
def signed(api) -> dict:
    contract = create(api, "clm", "/contracts", contract_body([rate("dev", 10_000, "2026-01-01"),
                                                               rate("pm", 12_000, "2026-01-01")]))
    for action in ("submit", "sign"):
        assert api("clm", "POST", f"/contracts/{contract['id']}/{action}").status_code == 200
    return contract


# -- one rate per role and effective date --------------------------------------------

def test_rate_card_with_two_rates_for_one_role_and_day_is_422(api, systems):
    card = [rate("dev", 10_000, "2026-01-01"), rate("pm", 9_000, "2026-01-01"), rate("dev", 12_000, "2026-01-01")]
    body = assert_problem(api("clm", "POST", "/contracts", json=contract_body(card)), 422, "validation_error")
    assert body["field"] == "rate_card[2].effective_from"
    assert "rate_card[0]" in body["detail"] and "'dev'" in body["detail"]
    assert systems.clm.contracts == {}


def test_same_role_on_different_days_and_different_roles_on_one_day_are_fine(api):
    card = [rate("dev", 10_000, "2026-01-01"), rate("dev", 11_000, "2026-07-01"), rate("pm", 9_000, "2026-01-01")]
    assert len(create(api, "clm", "/contracts", contract_body(card))["rate_card"]) == 3


def test_amendment_with_two_rates_for_one_role_and_day_is_422(api, systems, signed):
    response = api("clm", "POST", f"/contracts/{signed['id']}/amendments", json={
        "effective_date": "2026-04-01",
        "rate_card": [rate("dev", 11_000, "2026-04-01"), rate("dev", 11_500, "2026-04-01")]})
    assert assert_problem(response, 422)["field"] == "rate_card[1].effective_from"
    assert systems.clm.amendments == {}


def test_amendment_may_replace_an_existing_entry_for_the_same_role_and_day(api, signed):
    amendment = create(api, "clm", f"/contracts/{signed['id']}/amendments", {
        "effective_date": "2026-01-01", "rate_card": [rate("dev", 11_000, "2026-01-01")]})
    assert api("clm", "POST", f"/amendments/{amendment['id']}/sign").status_code == 200
    card = api("clm", "GET", f"/contracts/{signed['id']}").json()["rate_card"]
    assert card == [rate("dev", 11_000, "2026-01-01"), rate("pm", 12_000, "2026-01-01")]


def test_backend_rejects_a_duplicate_card_from_a_direct_caller(systems):
    from mocks.clm.models import RateCardEntry, Terms
    from mocks.core.problems import ValidationFailed

    terms = Terms(1, "2026-01-01", "2026-12-31", [RateCardEntry("dev", 1, "2026-01-01"),
                                                   RateCardEntry("dev", 2, "2026-01-01")])
    with pytest.raises(ValidationFailed) as info:
        systems.clm.create_contract(account_id="acc_1", legal_entity="US01", currency="USD",
                                    billing_type="time_and_materials", title="SOW", terms=terms)
    assert info.value.extra["field"] == "rate_card[1].effective_from"
    assert systems.clm.contracts == {}


# -- ETags ---------------------------------------------------------------------------

def test_contract_read_carries_an_etag_of_the_terms_version(api, signed):
    assert api("clm", "GET", f"/contracts/{signed['id']}").headers["etag"] == '"1"'
    amendment = create(api, "clm", f"/contracts/{signed['id']}/amendments", {
        "effective_date": "2026-06-01", "rate_card": [rate("dev", 11_000, "2026-06-01")]})
    api("clm", "POST", f"/amendments/{amendment['id']}/sign")
    response = api("clm", "GET", f"/contracts/{signed['id']}")
    assert response.headers["etag"] == '"2"' and response.json()["version"] == 2
