"""Credit notes outside the ERP: the oracle's checks, simulated customers, and the KPIs.

The ERP (mocks/erp) issues a credit note when a billing run's net for a
project is negative. These tests build such books through the ERP itself
and check that:

- the oracle accepts them, and names each tampering a broken ERP (or a
  connector writing documents itself) could do: a negative invoice, a
  credit note that credits nothing, a gap or a wrong number in a series;
- simulated customers never pay a credit note, but count it;
- the KPIs count credit notes apart from invoices, and DSO ignores them.
"""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal
from types import SimpleNamespace

import pytest

from mocks.core.feed import ChangeEvent
from simulator import kpis
from simulator.firm.context import CustomerBooks
from simulator.firm.finance import watch_erp
from simulator.kpis import receivables_kpis
from simulator.oracle import Reconciliation, _check_invoices

PERIODS = ("2026-01", "2026-02")


def lineage(n: int) -> dict:
    return {"source_system": "psa", "source_type": "timesheet_line", "source_id": f"tsl_{n}"}


@pytest.fixture
def books(systems):
    """US01: two January invoices; in February one project nets negative (a credit note), one positive."""
    erp = systems.erp
    for period in PERIODS:
        erp.open_period(period)
    customer = erp.create_customer(external_ref="acc_1", name="Acme", legal_name="Acme Inc.", tax_id="T-1",
                                   tax_jurisdiction="US-NY", currency="USD", billing_address={"country": "US"})
    projects = [erp.create_billing_project(customer_id=customer.id, legal_entity="US01", contract_ref=f"ctr_{n}",
                                           currency="USD", name=f"SOW {n}", payment_terms_days=30) for n in (1, 2)]

    def charge(project, amount: int, day: str, n: int, reversal_of: str | None = None):
        return erp.create_charge(billing_project_id=project.id, charge_date=day, description="work",
                                 quantity=Decimal(1), unit_price=amount, amount=amount, currency="USD",
                                 lineage=lineage(n), reversal_of=reversal_of)

    first = charge(projects[0], 10_000, "2026-01-10", 1)
    charge(projects[1], 5_000, "2026-01-12", 2)
    for invoice in erp.run_billing("US01", "2026-01"):
        erp.post_invoice(invoice.id)
    charge(projects[0], -10_000, "2026-02-02", 1, reversal_of=first.id)
    charge(projects[0], 7_500, "2026-02-02", 1)
    charge(projects[1], 2_000, "2026-02-03", 3)
    for invoice in erp.run_billing("US01", "2026-02"):
        erp.post_invoice(invoice.id)
    return systems


def check(systems) -> list:
    result = Reconciliation()
    _check_invoices(systems, result)
    return result.mismatches


def documents(systems, kind: str) -> list:
    return [i for i in systems.erp.invoices.values() if i.document_type == kind]


def test_a_credit_note_in_its_own_series_passes(books):
    (note,) = documents(books, "credit_note")
    assert note.total < 0 and note.number == "US01-CN-000001"
    assert sorted(i.number for i in documents(books, "invoice")) == ["US01-000001", "US01-000002", "US01-000003"]
    assert check(books) == []


def test_a_negative_invoice_is_a_mismatch(books):
    (note,) = documents(books, "credit_note")
    note.document_type, note.number = "invoice", "US01-000004"  # as an ERP without credit notes would post it

    (mismatch,) = check(books)

    assert mismatch.rule == "negative_invoice" and mismatch.item == f"erp:invoice/{note.id}"
    assert mismatch.actual == note.total < 0 and "credit note" in mismatch.detail


def test_a_credit_note_that_credits_nothing_is_a_mismatch(books):
    invoice = next(i for i in documents(books, "invoice") if i.period == "2026-02")
    invoice.document_type, invoice.number = "credit_note", "US01-CN-000002"
    (mismatch,) = check(books)  # US01-000003 was the invoice series' last number: no gap is left behind
    assert (mismatch.rule, mismatch.actual) == ("credit_note_total", invoice.total) and invoice.total > 0


def test_numbering_is_gapless_per_series(books):
    (note,) = documents(books, "credit_note")
    note.number = "US01-CN-000002"

    (mismatch,) = check(books)

    assert (mismatch.rule, mismatch.item) == ("gapless_numbering", "erp:legal_entity/US01")
    assert "credit_note" in mismatch.detail and "missing [1]" in mismatch.actual


def test_a_number_from_the_wrong_series_is_named(books):
    (note,) = documents(books, "credit_note")
    note.number = "US01-000004"  # an invoice number on a credit note
    rules = sorted(m.rule for m in check(books))
    assert rules == ["invoice_number"]
    invoice = next(iter(documents(books, "invoice")))
    invoice.number = "US01-CN-7"
    assert sorted(m.rule for m in check(books)) == ["gapless_numbering", "invoice_number", "invoice_number"]


def test_a_malformed_number_is_a_mismatch_not_a_crash(books):
    invoice = next(iter(documents(books, "invoice")))
    invoice.number = "US01-12ab"
    assert "invoice_number" in {m.rule for m in check(books)}


# -- simulated customers -------------------------------------------------------------------------------------


class Env:
    def __init__(self) -> None:
        self.processes: list = []

    def process(self, generator) -> None:
        self.processes.append(generator)


def posted(systems, document) -> ChangeEvent:
    return ChangeEvent(1, "evt_1", "erp", f"erp.{document.document_type}.posted", document.id, 2, document.posted_at)


def test_customers_file_a_credit_note_and_never_pay_it(books):
    ctx = SimpleNamespace(env=Env(), systems=books, customers=CustomerBooks())
    (note,) = documents(books, "credit_note")

    watch_erp(ctx, posted(books, note))

    assert ctx.env.processes == [], "nobody pays (or disputes) a credit note"
    assert ctx.customers.by_item == {"psa:timesheet_line/tsl_1": -2_500}, "but its lines count in the running totals"
    assert ctx.customers.by_contract == {"ctr_1": -2_500}

    invoice = next(i for i in documents(books, "invoice") if i.period == "2026-02")
    watch_erp(ctx, posted(books, invoice))
    assert len(ctx.env.processes) == 1, "an invoice is paid"


# -- KPIs ----------------------------------------------------------------------------------------------------


def test_dso_and_days_to_pay_ignore_credit_notes(books):
    erp = books.erp
    for invoice in documents(books, "invoice"):
        erp.record_payment(invoice.id, invoice.total)
    kpis = receivables_kpis(books, dt.date(2026, 1, 1), dt.date(2026, 4, 1))
    assert kpis["invoices_paid"] == 3
    assert kpis["open_at_period_end"] == {"USD": 0}, "a credit note is no receivable (and takes no payment)"
    assert kpis["dso_days"] == {"USD": 0.0}


def test_invoice_kpis_count_credit_notes_apart(books, monkeypatch):
    monkeypatch.setattr(kpis, "Valuer", lambda *args, **kwargs: SimpleNamespace(value=lambda item: None))
    extra = [None] * (len(inspect.signature(kpis.invoice_kpis).parameters) - 1)  # whatever else it reads: unused here
    (note,) = documents(books, "credit_note")
    got = kpis.invoice_kpis(books, *extra)
    assert got["count"] == 3 and got["count_by_currency"] == {"USD": 3}
    assert got["total_by_currency"]["USD"] == sum(i.total for i in documents(books, "invoice"))
    assert got["credit_notes"] == {"count": 1, "count_by_currency": {"USD": 1}, "total_by_currency": {"USD": note.total}}
    assert got["lines"] == sum(len(i.lines) for i in documents(books, "invoice"))
