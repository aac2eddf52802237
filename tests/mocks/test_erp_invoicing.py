"""Billing runs, gapless invoice numbers per legal entity and invoice arithmetic."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.mocks.factories import assert_problem, create, erp_charge, erp_customer, erp_project

US_TAX = Decimal("0.08875")  # US-NY
UK_TAX = Decimal("0.20")  # GB


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.fixture
def opened(systems) -> list[str]:
    """Finance has opened January and February 2026: billing runs only for an open period."""
    for period in ("2026-01", "2026-02"):
        systems.erp.open_period(period)
    return systems.erp.periods_opened


@pytest.fixture
def books(api, opened):
    """Two US01 projects and two UK01 projects, each with one January charge; January and February open."""
    us = create(api, "erp", "/customers", erp_customer("Acme"))
    uk = create(api, "erp", "/customers", erp_customer("Brit", tax_jurisdiction="GB", currency="GBP",
                                                      billing_address={"line1": "1 High St", "city": "London",
                                                                       "postal_code": "EC1", "country": "GB"}))
    projects = {
        "us_a": erp_project(api, us["id"], "US01", "USD", "ctr_us_a"),
        "uk_a": erp_project(api, uk["id"], "UK01", "GBP", "ctr_uk_a"),
        "us_b": erp_project(api, us["id"], "US01", "USD", "ctr_us_b"),
        "uk_b": erp_project(api, uk["id"], "UK01", "GBP", "ctr_uk_b"),
    }
    for name, project in projects.items():
        create(api, "erp", "/charges", erp_charge(project["id"], 10_000, currency=project["currency"],
                                                  description=name))
    return projects


def run(api, legal_entity: str, period: str = "2026-01") -> list[dict]:
    return create(api, "erp", "/billing-runs", {"legal_entity": legal_entity, "period": period})["invoices"]


def post(api, invoice_id: str) -> dict:
    response = api("erp", "POST", f"/invoices/{invoice_id}/post")
    assert response.status_code == 200, response.text
    return response.json()


def test_invoice_numbers_are_gapless_per_legal_entity(api, books):
    us_invoices = run(api, "US01")
    uk_invoices = run(api, "UK01")
    assert len(us_invoices) == 2 and len(uk_invoices) == 2
    assert all(i["status"] == "draft" and i["number"] is None for i in us_invoices + uk_invoices)

    order = [uk_invoices[1], us_invoices[0], uk_invoices[0], us_invoices[1]]  # interleaved series
    numbers = [post(api, invoice["id"])["number"] for invoice in order]

    assert numbers == ["UK01-000001", "US01-000001", "UK01-000002", "US01-000002"]
    listed = api("erp", "GET", "/invoices", params={"status": "posted"}).json()["data"]
    assert sorted(i["number"] for i in listed) == ["UK01-000001", "UK01-000002", "US01-000001", "US01-000002"]


def test_drafts_consume_no_number(api, books):
    us_invoices = run(api, "US01")
    # the first draft stays unposted; the second gets number 1, then the first gets number 2
    assert post(api, us_invoices[1]["id"])["number"] == "US01-000001"
    draft = api("erp", "GET", f"/invoices/{us_invoices[0]['id']}").json()
    assert draft["status"] == "draft" and draft["number"] is None
    assert post(api, us_invoices[0]["id"])["number"] == "US01-000002"


def test_numbering_continues_across_periods_without_gaps(api, systems, books):
    for invoice in run(api, "US01", "2026-01"):
        post(api, invoice["id"])
    create(api, "erp", "/charges", erp_charge(books["us_a"]["id"], 500, charge_date="2026-02-10"))
    february = run(api, "US01", "2026-02")
    assert len(february) == 1
    assert post(api, february[0]["id"])["number"] == "US01-000003"


def test_second_billing_run_for_same_entity_and_period_is_conflict(api, systems, books):
    first = run(api, "US01")
    create(api, "erp", "/charges", erp_charge(books["us_a"]["id"], 777))  # arrives after the run

    again = api("erp", "POST", "/billing-runs", json={"legal_entity": "US01", "period": "2026-01"})

    assert_problem(again, 409, "conflict")
    assert len(systems.erp.invoices) == len(first)
    # the other entity's run for the same period is independent
    assert len(run(api, "UK01")) == 2


def test_posted_invoice_cannot_be_posted_again(api, books):
    invoice = run(api, "US01")[0]
    posted = post(api, invoice["id"])

    again = api("erp", "POST", f"/invoices/{invoice['id']}/post")

    body = assert_problem(again, 409)
    assert invoice["id"] in body["detail"]
    after = api("erp", "GET", f"/invoices/{invoice['id']}").json()
    assert after["number"] == posted["number"] == "US01-000001"
    assert after["posted_at"] == posted["posted_at"]


def test_charges_dated_after_period_end_are_not_invoiced(api, systems, books):
    project_id = books["us_a"]["id"]
    on_last_day = create(api, "erp", "/charges", erp_charge(project_id, 300, charge_date="2026-01-31"))
    next_month = create(api, "erp", "/charges", erp_charge(project_id, 400, charge_date="2026-02-01"))

    invoices = run(api, "US01", "2026-01")

    invoice = next(i for i in invoices if i["billing_project_id"] == project_id)
    charge_ids = {line["charge_id"] for line in invoice["lines"]}
    assert on_last_day["id"] in charge_ids
    assert next_month["id"] not in charge_ids
    assert systems.erp.charges[next_month["id"]].status == "unbilled"
    assert api("erp", "GET", f"/charges/{on_last_day['id']}").json()["invoice_id"] == invoice["id"]

    february = run(api, "US01", "2026-02")
    assert [line["charge_id"] for line in february[0]["lines"]] == [next_month["id"]]


def test_run_only_bills_its_own_legal_entity(api, systems, books):
    run(api, "US01")
    uk_charges = [c for c in systems.erp.charges.values() if c.currency == "GBP"]
    assert uk_charges and all(c.status == "unbilled" for c in uk_charges)


@pytest.mark.parametrize(("amounts", "tax_rate", "jurisdiction"), [
    ([10_000, 12_345, 1, 4, 99_999], US_TAX, "US-NY"),
    ([250, 2, 3, 7, 12_345], UK_TAX, "GB"),
    ([5_000, 1_235, -1_235], US_TAX, "US-NY"),  # a reversal (of the charge before it) in the same invoice
])
def test_tax_per_line_is_half_up_and_total_is_exact(api, opened, amounts, tax_rate, jurisdiction):
    entity, currency = ("US01", "USD") if jurisdiction == "US-NY" else ("UK01", "GBP")
    customer = create(api, "erp", "/customers", erp_customer("Taxed", tax_jurisdiction=jurisdiction, currency=currency))
    project = erp_project(api, customer["id"], entity, currency)
    previous = None
    for amount in amounts:
        reversal = {"reversal_of": previous["id"]} if amount < 0 else {}
        previous = create(api, "erp", "/charges", erp_charge(project["id"], amount, currency=currency, **reversal))

    (invoice,) = run(api, entity)

    assert [line["amount"] for line in invoice["lines"]] == amounts
    expected_tax = [half_up(Decimal(a) * tax_rate) for a in amounts]
    assert [line["tax"] for line in invoice["lines"]] == expected_tax
    assert invoice["subtotal"] == sum(amounts)
    assert invoice["tax_total"] == sum(expected_tax)
    assert invoice["total"] == sum(amounts) + sum(expected_tax)


def test_tax_rounds_exact_halves_up_not_to_even(api, opened):
    # 28_400 * 0.08875 = 2520.5 and 25 * 0.10 = 2.5: banker's rounding would give 2520 and 2
    us = create(api, "erp", "/customers", erp_customer("Half"))
    jp = create(api, "erp", "/customers", erp_customer("Nihon", tax_jurisdiction="JP"))
    cases = {}
    for customer, amount, expected_tax in ((us, 28_400, 2_521), (jp, 25, 3)):
        project = erp_project(api, customer["id"], contract_ref=customer["id"])
        create(api, "erp", "/charges", erp_charge(project["id"], amount))
        cases[project["id"]] = (amount, expected_tax)

    invoices = run(api, "US01")

    assert len(invoices) == 2
    for invoice in invoices:
        amount, expected_tax = cases[invoice["billing_project_id"]]
        assert invoice["lines"][0]["tax"] == expected_tax
        assert invoice["total"] == amount + expected_tax


def test_invoice_lines_carry_lineage(api, books):
    invoice = run(api, "US01")[0]
    line = invoice["lines"][0]
    assert line["lineage"] == {"source": "test", "amount": 10_000}
    assert line["description"] == "us_a"


def test_billing_run_validates_period_and_entity(api, books):
    assert_problem(api("erp", "POST", "/billing-runs", json={"legal_entity": "US01", "period": "2026-13"}), 422)
    body = assert_problem(api("erp", "POST", "/billing-runs", json={"legal_entity": "US01", "period": "January"}), 422)
    assert body["field"] == "period"
    assert_problem(api("erp", "POST", "/billing-runs", json={"legal_entity": "XX99", "period": "2026-01"}), 404)
    # a rejected run does not count as the period's run
    assert len(run(api, "US01")) == 2


def test_non_canonical_period_cannot_rerun_a_billed_month(api, systems, books):
    run(api, "US01", "2026-01")
    create(api, "erp", "/charges", erp_charge(books["us_a"]["id"], 999, charge_date="2026-01-20"))

    again = api("erp", "POST", "/billing-runs", json={"legal_entity": "US01", "period": "2026-1"})

    assert again.status_code in (409, 422), again.text
    january = [i for i in systems.erp.invoices.values() if i.billing_project_id == books["us_a"]["id"]]
    assert len(january) == 1


@pytest.mark.parametrize("period", ["2026-1", "26-01", "2026-00", "2026-13", "2026/01", "2026-01-01", " 2026-01",
                                    "2026-01\n", "\u0662\u0660\u0662\u0666-01", "0000-01", "", 202601])
def test_period_must_be_yyyy_mm_exactly(api, systems, books, period):
    response = api("erp", "POST", "/billing-runs", json={"legal_entity": "US01", "period": period})
    assert assert_problem(response, 422, "validation_error")["field"] == "period"
    assert systems.erp.billing_runs == {} and systems.erp.invoices == {}


@pytest.mark.parametrize("period", ["2026-1", "2026-13", "January"])
def test_open_period_rejects_a_non_canonical_period(systems, period):
    from mocks.core.problems import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        systems.erp.open_period(period)
    assert info.value.extra["field"] == "period"
    assert systems.erp.periods_opened == []


def test_open_period_keys_on_the_canonical_spelling(systems):
    from mocks.core.problems import Conflict

    systems.erp.open_period("2026-01")
    with pytest.raises(Conflict):
        systems.erp.open_period("2026-01")
    assert systems.erp.periods_opened == ["2026-01"]
    assert list(systems.erp.billing_runs) == []
    systems.erp.run_billing("US01", "2026-01")
    assert list(systems.erp.billing_runs) == [("US01", "2026-01")]


def test_payments_only_on_posted_invoices_up_to_balance(api, books):
    invoice = run(api, "US01")[0]
    assert_problem(api("erp", "POST", "/payments", json={"invoice_id": invoice["id"], "amount": 1}), 409)
    posted = post(api, invoice["id"])
    over = api("erp", "POST", "/payments", json={"invoice_id": invoice["id"], "amount": posted["total"] + 1})
    assert assert_problem(over, 422)["field"] == "amount"
    create(api, "erp", "/payments", {"invoice_id": invoice["id"], "amount": posted["total"]})
    paid = api("erp", "GET", f"/invoices/{invoice['id']}").json()
    assert paid["amount_paid"] == paid["total"] and paid["paid_at"] is not None


# -- billing runs only for an open period --------------------------------------------------------------------


def test_a_billing_run_for_a_period_never_opened_is_refused(api, systems, books):
    response = api("erp", "POST", "/billing-runs", json={"legal_entity": "US01", "period": "2026-03"})

    body = assert_problem(response, 409, "conflict")
    assert body["field"] == "period" and body["period"] == "2026-03"
    assert "2026-03" in body["detail"] and "not been opened" in body["detail"] and "2026-02" in body["detail"]
    assert systems.erp.billing_runs == {} and systems.erp.invoices == {}

    systems.erp.open_period("2026-03")  # refused, not spent: the run happens once the period opens
    assert len(run(api, "US01", "2026-03")) == 2


def test_with_no_period_open_the_refusal_says_so(api, systems):
    body = assert_problem(api("erp", "POST", "/billing-runs", json={"legal_entity": "US01", "period": "2026-01"}), 409)
    assert body["field"] == "period" and "none" in body["detail"]


# -- credit notes: a negative net is credited, never invoiced -----------------------------------------------------


def correct_downwards(api, project_id: str, charge: dict, new_amount: int, charge_date: str = "2026-02-03") -> None:
    """Reverse an invoiced charge and charge the item afresh for less, in the next period."""
    create(api, "erp", "/charges", erp_charge(project_id, -charge["amount"], charge_date=charge_date,
                                              reversal_of=charge["id"], lineage={"item": "L1", "fix": 1}))
    if new_amount:
        create(api, "erp", "/charges", erp_charge(project_id, new_amount, charge_date=charge_date,
                                                  lineage={"item": "L1", "fix": 2}))


def january_charge(api, books) -> dict:
    return next(c for c in api("erp", "GET", "/charges").json()["data"] if c["billing_project_id"] == books["us_a"]["id"])


def test_a_negative_net_is_a_credit_note_with_signed_lines_and_its_own_series(api, systems, books):
    for invoice in run(api, "US01", "2026-01"):
        assert invoice["document_type"] == "invoice"
        post(api, invoice["id"])
    correct_downwards(api, books["us_a"]["id"], january_charge(api, books), 4_000)
    create(api, "erp", "/charges", erp_charge(books["us_b"]["id"], 2_500, charge_date="2026-02-10"))

    february = {i["billing_project_id"]: i for i in run(api, "US01", "2026-02")}

    note = february[books["us_a"]["id"]]
    assert note["document_type"] == "credit_note" and note["status"] == "draft" and note["number"] is None
    assert [line["amount"] for line in note["lines"]] == [-10_000, 4_000]
    assert [line["tax"] for line in note["lines"]] == [half_up(Decimal(-10_000) * US_TAX), half_up(Decimal(4_000) * US_TAX)]
    assert [line["lineage"] for line in note["lines"]] == [{"item": "L1", "fix": 1}, {"item": "L1", "fix": 2}]
    assert note["lines"][0]["reversal_of"] is not None
    assert note["subtotal"] == -6_000 and note["total"] == -6_000 + sum(line["tax"] for line in note["lines"]) < 0
    assert february[books["us_b"]["id"]]["document_type"] == "invoice"

    posted_note = post(api, note["id"])
    posted_invoice = post(api, february[books["us_b"]["id"]]["id"])
    assert posted_note["number"] == "US01-CN-000001" and posted_note["due_date"] is None
    assert posted_invoice["number"] == "US01-000003", "a credit note takes no number from the invoice series"
    events = [(e["type"], e["entity_id"]) for e in api("erp", "GET", "/events", params={"limit": "1000"}).json()["data"]]
    assert ("erp.credit_note.created", note["id"]) in events and ("erp.credit_note.posted", note["id"]) in events
    assert ("erp.invoice.posted", note["id"]) not in events and ("erp.invoice.created", note["id"]) not in events
    listed = api("erp", "GET", "/invoices", params={"document_type": "credit_note"}).json()["data"]
    assert [n["id"] for n in listed] == [note["id"]]
    invoices = api("erp", "GET", "/invoices", params={"document_type": "invoice"}).json()["data"]
    assert invoices and all(i["document_type"] == "invoice" for i in invoices)


def test_credit_note_numbers_are_gapless_per_legal_entity_and_apart_from_invoices(api, systems, books):
    for invoice in run(api, "US01", "2026-01") + run(api, "UK01", "2026-01"):
        post(api, invoice["id"])
    charges = {c["billing_project_id"]: c for c in api("erp", "GET", "/charges").json()["data"]}
    for name in ("us_a", "us_b", "uk_a"):
        project = books[name]
        create(api, "erp", "/charges", erp_charge(project["id"], -10_000, currency=project["currency"],
                                                  charge_date="2026-02-01", reversal_of=charges[project["id"]]["id"]))
    notes = run(api, "US01", "2026-02") + run(api, "UK01", "2026-02")
    assert [n["document_type"] for n in notes] == ["credit_note"] * 3

    numbers = [post(api, note["id"])["number"] for note in (notes[1], notes[2], notes[0])]

    assert numbers == ["US01-CN-000001", "UK01-CN-000001", "US01-CN-000002"]
    entity = systems.erp.legal_entities["US01"]
    assert (entity.last_number, entity.last_credit_note_number) == (2, 2)


def test_a_zero_net_is_an_invoice_with_nothing_to_pay(api, systems, books):
    for invoice in run(api, "US01", "2026-01"):
        post(api, invoice["id"])
    correct_downwards(api, books["us_a"]["id"], january_charge(api, books), 10_000)

    (invoice,) = run(api, "US01", "2026-02")

    assert invoice["document_type"] == "invoice" and invoice["total"] == 0
    assert [line["amount"] for line in invoice["lines"]] == [-10_000, 10_000]
    assert post(api, invoice["id"])["number"] == "US01-000003"


def test_a_credit_note_is_never_paid(api, systems, books):
    for invoice in run(api, "US01", "2026-01"):
        post(api, invoice["id"])
    correct_downwards(api, books["us_a"]["id"], january_charge(api, books), 0)
    (note,) = run(api, "US01", "2026-02")
    post(api, note["id"])

    for amount in (1, -note["total"]):
        body = assert_problem(api("erp", "POST", "/payments", json={"invoice_id": note["id"], "amount": amount}), 409)
        assert "credit note" in body["detail"] and body["document_type"] == "credit_note"
    assert systems.erp.payments == {} and systems.erp.invoices[note["id"]].amount_paid == 0


def test_the_document_type_follows_the_total_not_the_subtotal(systems):
    """Per-line tax may push a zero subtotal below zero: the total decides, so no invoice is ever negative."""
    from mocks.erp.models import ErpBackend

    erp = ErpBackend(systems.erp.clock, {"HALF": Decimal("0.5")})
    erp.add_legal_entity("LE", "entity", "USD", "LE")
    erp.open_period("2026-01")
    customer = erp.create_customer(external_ref="a", name="n", legal_name="n", tax_id="t", tax_jurisdiction="HALF",
                                   currency="USD", billing_address={})
    project = erp.create_billing_project(customer_id=customer.id, legal_entity="LE", contract_ref="c", currency="USD",
                                         name="p", payment_terms_days=30)

    def charge(amount: int, reversal_of: str | None = None):
        return erp.create_charge(billing_project_id=project.id, charge_date="2026-01-05", description="d",
                                 quantity=Decimal(1), unit_price=amount, amount=amount, currency="USD", lineage={},
                                 reversal_of=reversal_of)

    # February: three reversals of 1 (tax -0.5 -> -1 each, ties away from zero) and a charge of 3 (tax 1.5 -> 2)
    originals = [charge(1) for _ in range(3)]
    erp.run_billing("LE", "2026-01")  # bills the originals
    erp.open_period("2026-02")
    for original in originals:
        charge(-1, original.id).charge_date = "2026-02-01"
    charge(3).charge_date = "2026-02-01"
    (document,) = erp.run_billing("LE", "2026-02")
    assert document.subtotal == 0 and document.tax_total == -3 + 2 and document.total == -1
    assert document.document_type == "credit_note"
