"""The unbilled ledger refuses what it cannot hold: bounded amounts and quantities, honest amounts
(quantity x unit price, half-up), reversals that really reverse, and only once.

Every rejection is a 4xx problem naming the field (``charges[3].amount`` in a batch; 422 for bad input,
409 for a reversal the ledger's state forbids) and writes nothing; what the reference connector posts
(reversals of held charges, whole items on hold with a part released) stays valid.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest

from mocks.core.problems import Conflict
from mocks.erp.models import MAX_AMOUNT
from mocks.erp.money import tax_on
from tests.mocks.factories import assert_problem, create, erp_charge, erp_customer, erp_project


@pytest.fixture
def project(api, systems) -> dict:
    systems.erp.open_period("2026-01")  # billing runs only for an open period
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
    unit_price = -100 if Decimal(quantity) < 0 else 100  # a negative quantity at a negative price is a positive amount
    amount = int((Decimal(quantity) * unit_price).quantize(Decimal(1), ROUND_HALF_UP))
    charge = create(api, "erp", "/charges", erp_charge(project["id"], amount, quantity=quantity, unit_price=unit_price))
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


# -- honest amounts: quantity x unit price, half-up ------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "unit_price", "amount", "expected"), [
    ("8", 10_000, 50_000, 80_000),  # the part of an item under a cap, posted as if it were the item
    ("7.25", 12_000, 87_001, 87_000),
    ("0.5", 12_005, 6_002, 6_003),  # 6002.5: half-up, not half-even
    ("-0.5", -12_005, 6_002, 6_003),  # ties away from zero, whatever the signs
    ("0.333333", 3, 0, 1),  # 0.999999 rounds to 1
    ("0", 500, 500, 0),
], ids=["capped-part", "off-by-one", "half-even", "negative-tie", "tiny", "zero-quantity"])
def test_amount_must_be_quantity_times_unit_price(api, systems, project, quantity, unit_price, amount, expected):
    body = erp_charge(project["id"], amount, quantity=quantity, unit_price=unit_price)
    problem = assert_problem(post_charge(api, body), 422, "validation_error")
    assert problem["field"] == "amount"
    assert f"is {expected}" in problem["detail"] and f"is {amount}," in problem["detail"]
    assert systems.erp.charges == {}
    honest = create(api, "erp", "/charges", {**body, "amount": expected})
    assert honest["amount"] == expected


def test_a_batch_names_the_dishonest_charge_and_writes_nothing(api, systems, project):
    bodies = [erp_charge(project["id"], 1_000, quantity="2", unit_price=500) for _ in range(5)]
    bodies[3]["amount"] = 999
    problem = assert_problem(post_batch(api, bodies), 422, "validation_error")
    assert problem["field"] == "charges[3].amount" and "1000" in problem["detail"]
    assert systems.erp.charges == {}


def test_a_reversal_is_checked_against_its_original_not_quantity_times_price(api, project):
    """The reference connector reverses as quantity 1 at the negated amount; a copy of the original's quantity
    with its unit price negated (as a finance user's "reverse" button does) is fine too."""
    original = create(api, "erp", "/charges", erp_charge(project["id"], 87_000, quantity="7.25", unit_price=12_000))
    reversal = create(api, "erp", "/charges", erp_charge(project["id"], -87_000, quantity="-7.25",
                                                         unit_price=12_000, reversal_of=original["id"]))
    assert reversal["amount"] == -87_000


def test_the_parts_of_a_release_are_exempt_and_say_where_they_come_from(api, systems, project):
    """8 h at 100.00 on hold; 500.00 released: neither part is quantity x unit price, both carry released_from."""
    held = create(api, "erp", "/charges", erp_charge(project["id"], 80_000, quantity="8", unit_price=10_000,
                                                     hold=True))
    response = api("erp", "POST", f"/charges/{held['id']}/release", json={"amount": 50_000})
    assert response.status_code == 200, response.text
    parts = response.json()["data"]
    assert [(p["amount"], p["status"], p["released_from"]) for p in parts] == [
        (50_000, "unbilled", held["id"]), (30_000, "held", held["id"])]
    assert all((p["quantity"], p["unit_price"]) == ("8", 10_000) for p in parts)
    (invoice,) = create(api, "erp", "/billing-runs", {"legal_entity": "US01", "period": "2026-01"})["invoices"]
    assert [line["amount"] for line in invoice["lines"]] == [50_000]


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


def test_payment_terms_of_a_year_give_a_due_date(api, systems):
    systems.erp.open_period("2026-01")
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


# -- a charge is reversed once, and never once released into parts ---------------------------------------------


def reverse(project_id: str, original: dict, **overrides) -> dict:
    return erp_charge(project_id, -original["amount"], reversal_of=original["id"], **overrides)


def test_a_second_reversal_is_a_conflict_naming_the_first(api, systems, project):
    original = create(api, "erp", "/charges", erp_charge(project["id"], 300))
    first = create(api, "erp", "/charges", reverse(project["id"], original))

    problem = assert_problem(post_charge(api, reverse(project["id"], original)), 409, "conflict")

    assert problem["field"] == "reversal_of"
    assert (problem["charge_id"], problem["reversal_id"]) == (original["id"], first["id"])
    assert original["id"] in problem["detail"] and first["id"] in problem["detail"]
    assert list(systems.erp.charges) == [original["id"], first["id"]]


def test_a_second_reversal_in_a_batch_refuses_the_whole_batch(api, systems, project):
    original = create(api, "erp", "/charges", erp_charge(project["id"], 300))
    first = create(api, "erp", "/charges", reverse(project["id"], original))
    bodies = [erp_charge(project["id"], 1), erp_charge(project["id"], 2), reverse(project["id"], original)]

    problem = assert_problem(post_batch(api, bodies), 409, "conflict")

    assert problem["field"] == "charges[2].reversal_of" and problem["reversal_id"] == first["id"]
    assert len(systems.erp.charges) == 2


def test_a_batch_that_reverses_one_charge_twice_is_refused_whole(api, systems, project):
    original = create(api, "erp", "/charges", erp_charge(project["id"], 300))
    bodies = [reverse(project["id"], original), erp_charge(project["id"], 5), reverse(project["id"], original)]

    problem = assert_problem(post_batch(api, bodies), 409, "conflict")

    assert problem["field"] == "charges[2].reversal_of" and problem["charge_id"] == original["id"]
    assert "charges[0]" in problem["detail"]
    assert list(systems.erp.charges) == [original["id"]] and systems.erp.reversed_by == {}


def test_a_reversal_of_a_reversal_is_still_allowed_once(api, project):
    original = create(api, "erp", "/charges", erp_charge(project["id"], 300))
    reversal = create(api, "erp", "/charges", reverse(project["id"], original))
    create(api, "erp", "/charges", reverse(project["id"], reversal))
    assert_problem(post_charge(api, reverse(project["id"], reversal)), 409)


def test_a_released_charge_cannot_be_reversed_its_parts_can(api, systems, project):
    held = create(api, "erp", "/charges", erp_charge(project["id"], 900, hold=True))
    parts = api("erp", "POST", f"/charges/{held['id']}/release", json={"amount": 400}).json()["data"]

    problem = assert_problem(post_charge(api, reverse(project["id"], held, hold=True)), 409, "conflict")

    assert problem["field"] == "reversal_of" and problem["charge_id"] == held["id"]
    assert problem["parts"] == [p["id"] for p in parts]
    assert "released" in problem["detail"] and all(p["id"] in problem["detail"] for p in parts)
    assert len(systems.erp.charges) == 3
    for part in parts:
        create(api, "erp", "/charges", reverse(project["id"], part, hold=part["status"] == "held"))


def test_a_charge_released_whole_is_reversible_once(api, project):
    held = create(api, "erp", "/charges", erp_charge(project["id"], 900, hold=True))
    assert api("erp", "POST", f"/charges/{held['id']}/release", json={}).json()["data"][0]["status"] == "unbilled"
    create(api, "erp", "/charges", reverse(project["id"], held))
    assert_problem(post_charge(api, reverse(project["id"], held)), 409)


def test_the_ledger_primitive_refuses_a_second_reversal_too(systems, project):
    """Simulated finance users write through the primitive: the ERP refuses them the same way."""
    erp = systems.erp
    original = erp.create_charge(billing_project_id=project["id"], charge_date="2026-01-05", description="work",
                                 quantity=Decimal(1), unit_price=700, amount=700, currency="USD", lineage={})
    fields = {"billing_project_id": project["id"], "charge_date": "2026-01-06", "description": "undo",
              "quantity": Decimal(-1), "unit_price": 700, "amount": -700, "currency": "USD", "lineage": {},
              "reversal_of": original.id}
    first = erp.create_charge(**fields)
    with pytest.raises(Conflict) as info:
        erp.create_charge(**fields)
    assert info.value.extra["reversal_id"] == first.id
    assert erp.reversed_by == {original.id: first.id}


def test_a_reversed_held_charge_cannot_be_released(api, systems, project):
    """A held charge a finance user reversed (its reversal held too) stays out of billing: releasing it is a 409."""
    held = create(api, "erp", "/charges", erp_charge(project["id"], 12_345, hold=True))
    reversal = create(api, "erp", "/charges", erp_charge(project["id"], -12_345, quantity="1",
                                                         reversal_of=held["id"], hold=True))
    problem = assert_problem(api("erp", "POST", f"/charges/{held['id']}/release", json={}), 409, "conflict")
    assert reversal["id"] in problem["detail"] and "cannot be released" in problem["detail"]
    assert systems.erp.charges[held["id"]].status == "held"


def test_a_charge_renders_every_field_in_declaration_order(api, systems, project):
    body = erp_charge(project["id"], 650, quantity="6.50", unit_price=100)
    created = post_charge(api, body).json()
    charge = systems.erp.charges[created["id"]]
    assert list(created) == [f.name for f in dataclasses.fields(charge)]
    assert created["quantity"] == "6.50" and created == charge.to_json()
