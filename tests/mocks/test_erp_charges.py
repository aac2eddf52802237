"""The unbilled ledger refuses what it cannot hold: bounded amounts and quantities, reversals that really reverse.

Every rejection is a 422 naming the field (``charges[3].amount`` in a batch) and writes nothing; what the
reference connector posts (reversals of held charges, capped charges whose amount is not quantity x unit price)
stays valid.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest

from mocks.erp.models import MAX_AMOUNT
from mocks.erp.money import tax_on
from tests.mocks.factories import assert_problem, create, erp_charge, erp_customer, erp_project


@pytest.fixture
def project(api) -> dict:
    customer = create(api, "erp", "/customers", erp_customer())
    return erp_project(api, customer["id"])


def post_charge(api, body: dict):
    return api("erp", "POST", "/charges", json=body)


def post_batch(api, bodies: list[dict]):
    return api("erp", "POST", "/charge-batches", json={"charges": bodies})


# -- bounds ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["amount", "unit_price"])
@pytest.mark.parametrize("value", [MAX_AMOUNT + 1, 10**40, -(MAX_AMOUNT + 1)])
def test_amounts_beyond_the_bound_are_422_naming_the_field(api, systems, project, field, value):
    body = erp_charge(project["id"], 100)
    body[field] = value
    problem = assert_problem(post_charge(api, body), 422, "validation_error")
    assert problem["field"] == field
    assert systems.erp.charges == {}


def test_amounts_at_the_bound_are_accepted_and_billed(api, project):
    create(api, "erp", "/charges", erp_charge(project["id"], MAX_AMOUNT))
    (invoice,) = create(api, "erp", "/billing-runs", {"legal_entity": "US01", "period": "2026-01"})["invoices"]
    expected_tax = int((Decimal(MAX_AMOUNT) * Decimal("0.08875")).quantize(Decimal(1), ROUND_HALF_UP))
    assert invoice["lines"][0]["tax"] == expected_tax
    assert invoice["total"] == MAX_AMOUNT + expected_tax
    assert api("erp", "POST", f"/invoices/{invoice['id']}/post").status_code == 200


@pytest.mark.parametrize(("quantity", "why"), [
    ("1000000001", "between"), ("-1000000001", "between"), ("1E+10", "between"), ("1e999999999", "between"),
    ("0.1234567", "decimal places"), ("1E-7", "decimal places"), ("1e-999999999", "decimal places"),
])
def test_quantity_must_be_a_sane_decimal(api, systems, project, quantity, why):
    problem = assert_problem(post_charge(api, erp_charge(project["id"], 100, quantity=quantity)), 422)
    assert problem["field"] == "quantity" and why in problem["detail"]
    assert systems.erp.charges == {}


@pytest.mark.parametrize("quantity", ["1000000000", "-1000000000", "7.25", "0.000001", "1.5000000", "0"])
def test_quantities_within_the_bounds_are_accepted(api, project, quantity):
    charge = create(api, "erp", "/charges", erp_charge(project["id"], 100, quantity=quantity))
    assert Decimal(charge["quantity"]) == Decimal(quantity)


def test_batch_names_the_offending_charge_and_writes_nothing(api, systems, project):
    bodies = [erp_charge(project["id"], 100) for _ in range(5)]
    bodies[3]["amount"] = MAX_AMOUNT + 1
    problem = assert_problem(post_batch(api, bodies), 422, "validation_error")
    assert problem["field"] == "charges[3].amount"
    bodies[3] = erp_charge(project["id"], 100, quantity="0.1234567")
    assert assert_problem(post_batch(api, bodies), 422)["field"] == "charges[3].quantity"
    assert systems.erp.charges == {}


# -- negative amounts and reversals -----------------------------------------------------------------------------


def test_a_negative_amount_needs_reversal_of(api, systems, project):
    problem = assert_problem(post_charge(api, erp_charge(project["id"], -500)), 422)
    assert problem["field"] == "amount" and "reversal_of" in problem["detail"]
    batch = [erp_charge(project["id"], 500), erp_charge(project["id"], -500)]
    assert assert_problem(post_batch(api, batch), 422)["field"] == "charges[1].amount"
    assert systems.erp.charges == {}


@pytest.mark.parametrize("hold", [False, True], ids=["billable", "held"])
def test_a_reversal_as_the_reference_connector_posts_it_is_accepted(api, project, hold):
    """Reversal of a charge (held ones too): amount and unit price are the original amount negated, quantity 1."""
    original = create(api, "erp", "/charges", erp_charge(project["id"], 12_345, hold=hold))
    reversal = create(api, "erp", "/charge-batches", {"charges": [erp_charge(
        project["id"], -12_345, quantity="1", description=f"Reversal of {original['id']}",
        reversal_of=original["id"], hold=hold)]})["data"][0]
    assert reversal["reversal_of"] == original["id"] and reversal["amount"] == -12_345
    assert reversal["status"] == ("held" if hold else "unbilled")


def test_a_capped_charge_need_not_be_quantity_times_unit_price(api, project):
    """The part of an item under the cap: 8 h at 100.00 is 800.00, of which 500.00 is billable."""
    charge = create(api, "erp", "/charges", erp_charge(project["id"], 50_000, quantity="8", unit_price=10_000))
    assert charge["amount"] == 50_000


@pytest.mark.parametrize("amount", [-12_344, -12_346, 12_345, 0], ids=["short", "over", "same-sign", "zero"])
def test_a_reversal_must_negate_the_original_exactly(api, systems, project, amount):
    original = create(api, "erp", "/charges", erp_charge(project["id"], 12_345))
    problem = assert_problem(post_charge(api, erp_charge(project["id"], amount, reversal_of=original["id"])), 422)
    assert problem["field"] == "reversal_of"
    assert "-12345" in problem["detail"]
    assert list(systems.erp.charges) == [original["id"]]


def test_a_reversal_must_stay_in_the_billing_project(api, systems, project):
    other = erp_project(api, project["customer_id"], contract_ref="ctr_2")
    original = create(api, "erp", "/charges", erp_charge(other["id"], 700))
    body = erp_charge(project["id"], -700, reversal_of=original["id"])
    problem = assert_problem(post_batch(api, [erp_charge(project["id"], 1), body]), 422)
    assert problem["field"] == "charges[1].reversal_of"
    assert other["id"] in problem["detail"]
    assert list(systems.erp.charges) == [original["id"]]


def test_a_reversal_of_an_unknown_charge_names_reversal_of(api, project):
    problem = assert_problem(post_charge(api, erp_charge(project["id"], -1, reversal_of="chg_999999")), 422)
    assert problem["field"] == "reversal_of"


def test_a_reversal_of_a_reversal_is_positive(api, project):
    original = create(api, "erp", "/charges", erp_charge(project["id"], 300))
    reversal = create(api, "erp", "/charges", erp_charge(project["id"], -300, reversal_of=original["id"]))
    again = create(api, "erp", "/charges", erp_charge(project["id"], 300, reversal_of=reversal["id"]))
    assert again["amount"] == 300


# -- billing projects ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [-1, 366, 10**20, True, "30"])
def test_payment_terms_days_is_bounded(api, systems, days):
    customer = create(api, "erp", "/customers", erp_customer())
    response = api("erp", "POST", "/billing-projects", json={
        "customer_id": customer["id"], "legal_entity": "US01", "contract_ref": "ctr_1", "currency": "USD",
        "name": "p", "payment_terms_days": days})
    assert assert_problem(response, 422)["field"] == "payment_terms_days"
    assert systems.erp.billing_projects == {}


def test_payment_terms_of_a_year_give_a_due_date(api):
    customer = create(api, "erp", "/customers", erp_customer())
    project = create(api, "erp", "/billing-projects", {
        "customer_id": customer["id"], "legal_entity": "US01", "contract_ref": "ctr_1", "currency": "USD",
        "name": "p", "payment_terms_days": 365})
    create(api, "erp", "/charges", erp_charge(project["id"], 100))
    (invoice,) = create(api, "erp", "/billing-runs", {"legal_entity": "US01", "period": "2026-01"})["invoices"]
    assert api("erp", "POST", f"/invoices/{invoice['id']}/post").json()["due_date"]


# -- tax ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [MAX_AMOUNT, -MAX_AMOUNT, MAX_AMOUNT - 1, 1, -1, 0, 10**60])
@pytest.mark.parametrize("rate", ["0.08875", "0.999999999999999999999999999999999999", "0", "1E-40", "0.5"])
def test_tax_on_is_exact_half_up_for_any_amount(amount, rate):
    with localcontext() as context:
        context.prec = 200  # wide enough to be exact for these operands
        expected = int((Decimal(amount) * Decimal(rate)).quantize(Decimal(1), ROUND_HALF_UP))
    assert tax_on(amount, Decimal(rate)) == expected
