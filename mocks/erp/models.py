"""ERP state and rules.

Guarantees the rest of c2c relies on:

- Charges form the unbilled ledger. A charge is never edited or deleted;
  a correction is a new charge (``reversal_of`` names the one it reverses).
- A charge posted through the API is bounded: ``amount`` and ``unit_price``
  within +/-10**15 minor units, ``quantity`` finite, within +/-10**9 and
  with at most 6 decimal places. Its amount is negative only if it is a
  reversal: ``reversal_of`` names a charge of the same billing project and
  the amount is exactly that charge's amount negated. Anything else is a
  422 naming the field (``charges[3].amount`` in a batch).
- A charge posted through the API that is not a reversal is honest: its
  ``amount`` is ``quantity x unit_price`` rounded half-up (ties away from
  zero) to the minor unit, computed exactly; otherwise a 422 naming
  ``amount`` with the expected value. A reversal is checked against the
  charge it reverses instead, and the parts :meth:`ErpBackend.release_charge`
  creates (``released_from`` set) carry part of a checked charge, so they
  are exempt.
- A charge is reversed at most once: a second reversal (in the ledger
  already, or twice in one batch) is a 409 naming the charge and the
  reversal that exists. A charge released into parts (status
  ``released``) lives on in its parts: reversing it is a 409 naming them.
  Reversals are indexed, so the check costs O(1) however big the ledger.
- A charge created with ``hold`` is *held*: it is on the ledger but no
  billing run picks it up until it is released (capped contracts park
  their overage this way). Releasing part of a held charge splits it: the
  original becomes ``released`` and two new charges (unbilled and held)
  carry the parts, so no charge's amount ever changes.
- A period is exactly ``YYYY-MM`` (month 01-12); anything else is a 422
  naming ``period``, so one month has one spelling and one run key.
- A billing run for (legal entity, period) happens once, and only for a
  period finance has opened (otherwise a 409 naming ``period``: the
  request is well formed, the books are not ready for it). It gathers,
  per billing project, every unbilled charge dated on or before the
  period's last day into one draft document.
- That document is an *invoice* when its total (lines plus per-line tax)
  is zero or more, and a *credit note* when it is negative: never a
  negative invoice. Both live in ``invoices`` with a ``document_type``
  (``invoice`` | ``credit_note``); a credit note's lines keep their signed
  amounts, lineage and per-line tax exactly as an invoice's would. A zero
  total is an invoice with nothing to pay (its lines still bill and trace
  their items).
- Numbers are assigned at posting, consecutively per legal entity and
  series (invoices ``{prefix}-000001``, credit notes
  ``{prefix}-CN-000001``), so neither sequence has gaps; drafts consume
  no numbers. Posting publishes ``invoice.posted`` or
  ``credit_note.posted``.
- A posted document never changes; only payments are recorded against an
  invoice. A credit note is never paid by the customer: a payment against
  one is a 409.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from mocks.core.backend import Backend
from mocks.core.fields import MAX_MINOR_UNITS
from mocks.core.problems import Conflict, ValidationFailed
from mocks.erp.exceptions import BillingRunExists, ErpNotFound, InvoiceNotDraft, NoTaxProfile
from mocks.erp.money import MINOR_UNITS, tax_on


@dataclass
class LegalEntity:
    id: str
    name: str
    currency: str
    invoice_prefix: str
    last_number: int = 0  # the invoice series
    last_credit_note_number: int = 0  # the credit note series

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "currency": self.currency, "invoice_prefix": self.invoice_prefix}


@dataclass
class Customer:
    id: str
    external_ref: str
    name: str
    legal_name: str
    tax_id: str
    tax_jurisdiction: str
    currency: str
    billing_address: dict[str, str]
    version: int = 1
    created_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class BillingProject:
    id: str
    customer_id: str
    legal_entity: str
    contract_ref: str
    currency: str
    name: str
    payment_terms_days: int
    created_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(slots=True)
class Charge:
    """One line of the unbilled ledger (slotted: a year of a large firm's ledger is a few hundred thousand).

    Created and changed only by :class:`ErpBackend` (``create_charge``, ``release_charge``, a billing run), which
    moves its billing project's charge revision each time: a conditional read of the project's charges trusts it.
    """

    id: str
    billing_project_id: str
    charge_date: str
    description: str
    quantity: Decimal
    unit_price: int
    amount: int
    currency: str
    lineage: dict[str, Any]
    reversal_of: str | None
    created_at: str
    status: str = "unbilled"  # held | unbilled | invoiced | released
    invoice_id: str | None = None
    released_from: str | None = None
    released_at: str | None = None
    created_held: bool = False

    def to_json(self) -> dict[str, Any]:
        """Every field, in declaration order (a listing renders a few million of these in a large run)."""
        return {"id": self.id, "billing_project_id": self.billing_project_id, "charge_date": self.charge_date,
                "description": self.description, "quantity": str(self.quantity), "unit_price": self.unit_price,
                "amount": self.amount, "currency": self.currency, "lineage": self.lineage,
                "reversal_of": self.reversal_of, "created_at": self.created_at, "status": self.status,
                "invoice_id": self.invoice_id, "released_from": self.released_from, "released_at": self.released_at,
                "created_held": self.created_held}


@dataclass
class Invoice:
    id: str
    legal_entity: str
    customer_id: str
    billing_project_id: str
    period: str
    currency: str
    lines: list[dict[str, Any]]
    subtotal: int
    tax_total: int
    total: int
    created_at: str
    number: str | None = None
    status: str = "draft"
    posted_at: str | None = None
    due_date: str | None = None
    amount_paid: int = 0
    paid_at: str | None = None
    disputes: list[dict[str, Any]] = field(default_factory=list)
    document_type: str = "invoice"  # INVOICE | CREDIT_NOTE

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def contracts(self) -> list[str]:
        """The contracts its lines bill, sorted: each distinct string ``contract_id`` of a line's lineage (a
        document bills one billing project, so usually one; none when no line's lineage names a contract)."""
        return sorted({contract for line in self.lines
                       if isinstance(contract := line["lineage"].get("contract_id"), str)})


@dataclass
class Payment:
    id: str
    invoice_id: str
    amount: int
    received_at: str

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


INVOICE, CREDIT_NOTE = "invoice", "credit_note"  # document types: one number series each per legal entity
CREDIT_NOTE_SERIES = "CN"  # credit note numbers read {invoice_prefix}-CN-000001

MAX_AMOUNT = MAX_MINOR_UNITS  # either sign: beyond any real charge, so a typo or overflow is caught at the door
MAX_QUANTITY = Decimal(10**9)
QUANTITY_PLACES = 6
QUANTITY_STEP = Decimal(1).scaleb(-QUANTITY_PLACES)

# ASCII digits, year 0001-9999, zero-padded month: one spelling per month (the OpenAPI document states it too)
PERIOD_PATTERN = r"([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])"
_PERIOD = re.compile(PERIOD_PATTERN)


def parse_period(period: Any) -> str:
    """The period itself when it is exactly ``YYYY-MM`` (a real month); otherwise a 422 naming ``period``."""
    if not isinstance(period, str) or not _PERIOD.fullmatch(period):
        raise ValidationFailed("period", f"{period!r} is not a period YYYY-MM")
    return period


def half_up(value: Fraction) -> int:
    """``value`` rounded half-up to an integer, ties away from zero (as :func:`mocks.erp.money.tax_on` rounds)."""
    magnitude = (2 * abs(value.numerator) + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def charge_amount(quantity: Decimal, unit_price: int) -> int:
    """What a charge of ``quantity`` at ``unit_price`` (minor units) comes to, exactly, rounded half-up."""
    return half_up(Fraction(quantity) * unit_price)


def period_end(period: str) -> dt.date:
    """The last day of a ``YYYY-MM`` period (422 naming ``period`` if it is not one)."""
    year, month = (int(x) for x in parse_period(period).split("-"))
    return dt.date(year, month, calendar.monthrange(year, month)[1])


CUSTOMER_UPDATABLE = ("name", "legal_name", "tax_id", "billing_address")

# explicit singular names for not-found messages ("legal entity", not "legal entitie")
SINGULAR = {
    "legal_entities": "legal entity", "customers": "customer", "billing_projects": "billing project",
    "charges": "charge", "invoices": "invoice", "payments": "payment",
}


class ErpBackend(Backend):
    system = "erp"
    events = {
        "customer.created": "A customer was created; the subject is the customer.",
        "customer.updated": "A customer's fields changed; the subject is the customer.",
        "billing_project.created": "A billing project was created; the subject is the billing project.",
        "charge.created": "A charge was posted to the unbilled ledger; the subject is the charge.",
        "charge.released": "A held charge was released, wholly or in parts; the subject is the held charge.",
        "period.opened": "Finance opened a billing period; the subject is the period YYYY-MM.",
        "billing_run.completed": "A billing run drafted its documents; the subject is the run.",
        "invoice.created": "A billing run drafted an invoice; the subject is the invoice.",
        "credit_note.created": "A billing run drafted a credit note; the subject is the credit note.",
        "invoice.posted": "An invoice was posted and numbered; the subject is the invoice.",
        "credit_note.posted": "A credit note was posted and numbered; the subject is the credit note.",
        "invoice.disputed": "A customer disputed a posted invoice; the subject is the invoice.",
        "payment.received": "A payment was recorded against an invoice; the subject is the payment.",
    }
    singular = SINGULAR
    not_found = ErpNotFound

    def __init__(self, clock, tax_rates: dict[str, Decimal] | None = None, feed_retention: int | None = None) -> None:
        super().__init__(clock, feed_retention)
        self.tax_rates: dict[str, Decimal] = dict(tax_rates or {})
        self.legal_entities: dict[str, LegalEntity] = {}
        self.customers: dict[str, Customer] = {}
        self.billing_projects: dict[str, BillingProject] = {}
        self.charges: dict[str, Charge] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.billing_runs: dict[tuple[str, str], str] = {}
        self.periods_opened: list[str] = []
        self.reversed_by: dict[str, str] = {}  # charge id -> the id of its one reversal
        self.released_into: dict[str, list[str]] = {}  # released charge id -> the ids of its parts
        self._charge_revisions: Counter[str] = Counter()  # billing project id -> changes to its charges so far
        self._strings: dict[str, str] = {}  # one object per distinct string a charge holds (see :meth:`_shared`)
        self._quantities: dict[str, Decimal] = {}  # one object per distinct quantity, by its text

    # -- master data ----------------------------------------------------------
    def add_legal_entity(self, entity_id: str, name: str, currency: str, invoice_prefix: str) -> LegalEntity:
        entity = LegalEntity(entity_id, name, currency, invoice_prefix)
        self.legal_entities[entity_id] = entity
        return entity

    def create_customer(self, **fields: Any) -> Customer:
        if fields["tax_jurisdiction"] not in self.tax_rates:
            raise NoTaxProfile(fields["tax_jurisdiction"])
        if fields["currency"] not in MINOR_UNITS:
            raise ValidationFailed("currency", f"{fields['currency']!r} is not a supported ISO 4217 currency")
        customer = Customer(id=self.next_id("cus"), created_at=self.now_iso(), **fields)
        self.customers[customer.id] = customer
        self.publish("customer.created", customer.id, customer.version)
        return customer

    def update_customer(self, customer_id: str, changes: dict[str, Any]) -> Customer:
        """Apply already-validated ``changes`` all at once: one version bump, one ``customer.updated`` event.

        Only the fields in :data:`CUSTOMER_UPDATABLE` may change; naming any
        other is a 422 and changes nothing.
        """
        customer = self.get("customers", customer_id)
        for name in changes:
            if name not in CUSTOMER_UPDATABLE:
                raise ValidationFailed(name, f"cannot be changed; updatable fields: {', '.join(CUSTOMER_UPDATABLE)}")
        for name, value in changes.items():
            setattr(customer, name, value)
        customer.version += 1
        self.publish("customer.updated", customer.id, customer.version)
        return customer

    def create_billing_project(self, *, customer_id: str, legal_entity: str, contract_ref: str, currency: str,
                               name: str, payment_terms_days: int) -> BillingProject:
        self.get("customers", customer_id)
        entity = self.get("legal_entities", legal_entity)
        if currency != entity.currency:
            raise ValidationFailed("currency", f"{currency} differs from legal entity {entity.id}'s {entity.currency}")
        project = BillingProject(self.next_id("bpr"), customer_id, legal_entity, contract_ref, currency, name,
                                 payment_terms_days, self.now_iso())
        self.billing_projects[project.id] = project
        self.publish("billing_project.created", project.id, 1)
        return project

    # -- the unbilled ledger --------------------------------------------------
    def _check_references(self, fields: dict[str, Any], prefix: str = "") -> None:
        project = self.billing_projects.get(fields["billing_project_id"])
        if project is None:
            raise ValidationFailed(f"{prefix}billing_project_id", f"no billing project {fields['billing_project_id']}")
        if fields["currency"] != project.currency:
            raise ValidationFailed(f"{prefix}currency",
                                   f"{fields['currency']} differs from billing project currency {project.currency}")
        reversed_id = fields.get("reversal_of")
        if reversed_id is not None:
            original = self.charges.get(reversed_id)
            if original is None:
                raise ValidationFailed(f"{prefix}reversal_of", f"no charge {reversed_id} to reverse")
            self._check_reversible(original, f"{prefix}reversal_of")

    def _check_reversible(self, original: Charge, field: str) -> None:
        """A charge is reversed once, and not at all once it was released into parts (409 naming what exists)."""
        existing = self.reversed_by.get(original.id)
        if existing is not None:
            raise Conflict(f"{field}: charge {original.id} is already reversed by charge {existing}; a charge is "
                           "reversed at most once", field=field, charge_id=original.id, reversal_id=existing)
        if original.status == "released":
            parts = self.released_into.get(original.id, [])
            raise Conflict(f"{field}: charge {original.id} was released into charges {', '.join(parts)} and lives on "
                           "in them; reverse those parts instead", field=field, charge_id=original.id, parts=parts)

    def _check_charge(self, fields: dict[str, Any], prefix: str = "") -> None:
        """The ledger's rules for a charge posted through the API (see the module docstring); 422 naming the field."""
        self._check_references(fields, prefix)
        for name in ("amount", "unit_price"):
            value = fields[name]
            if not -MAX_AMOUNT <= value <= MAX_AMOUNT:
                raise ValidationFailed(f"{prefix}{name}",
                                       f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT} minor units, got {value}")
        quantity: Decimal = fields["quantity"]
        if not quantity.is_finite() or not -MAX_QUANTITY <= quantity <= MAX_QUANTITY:
            raise ValidationFailed(f"{prefix}quantity", f"must be a number between -{MAX_QUANTITY} and {MAX_QUANTITY}")
        if quantity != quantity.quantize(QUANTITY_STEP):  # exact: |quantity| <= 10**9 leaves room for 6 places
            raise ValidationFailed(f"{prefix}quantity", f"has more than {QUANTITY_PLACES} decimal places")
        amount = fields["amount"]
        reversed_id = fields.get("reversal_of")
        if reversed_id is None:
            if amount < 0:
                raise ValidationFailed(f"{prefix}amount", f"is {amount}; only a reversal (with reversal_of) may be negative")
            expected = charge_amount(quantity, fields["unit_price"])
            if amount != expected:
                raise ValidationFailed(f"{prefix}amount", f"is {amount}, but quantity {quantity} x unit_price "
                                       f"{fields['unit_price']} rounded half-up to the minor unit is {expected}")
            return
        original = self.charges[reversed_id]
        if original.billing_project_id != fields["billing_project_id"]:
            raise ValidationFailed(f"{prefix}reversal_of", f"charge {reversed_id} belongs to billing project "
                                   f"{original.billing_project_id}, not {fields['billing_project_id']}")
        if amount != -original.amount:
            raise ValidationFailed(f"{prefix}reversal_of", f"charge {reversed_id} is {original.amount}; its reversal "
                                   f"must have amount {-original.amount}, got {amount}")

    def create_charges(self, batch: list[dict[str, Any]], prefixes: list[str] | None = None) -> list[Charge]:
        """Create charges posted through the API atomically: every one is checked before any is written.

        ``prefixes`` name each charge in errors (default ``charges[i].``, as in a batch body).
        """
        prefixes = prefixes or [f"charges[{i}]." for i in range(len(batch))]
        reversing: dict[str, str] = {}  # charge id -> the entry of this batch that reverses it
        for fields, prefix in zip(batch, prefixes, strict=True):
            self._check_charge(fields, prefix)
            reversed_id = fields.get("reversal_of")
            if reversed_id is None:
                continue
            if reversed_id in reversing:
                field = f"{prefix}reversal_of"
                raise Conflict(f"{field}: charge {reversed_id} is already reversed by {reversing[reversed_id]} of this "
                               "batch; a charge is reversed at most once", field=field, charge_id=reversed_id)
            reversing[reversed_id] = prefix.rstrip(".")
        return [self.create_charge(**fields) for fields in batch]

    def create_charge(self, *, billing_project_id: str, charge_date: str, description: str, quantity: Decimal,
                      unit_price: int, amount: int, currency: str, lineage: dict[str, Any],
                      reversal_of: str | None = None, hold: bool = False) -> Charge:
        """The ledger primitive: checks what the charge refers to (and that a reversal may reverse it); the API's
        other rules are :meth:`create_charges`'s."""
        self._check_references({"billing_project_id": billing_project_id, "currency": currency,
                                "reversal_of": reversal_of})
        shared = self._strings.setdefault  # shared(text, text): see _shared, inlined (a dozen strings a charge)
        lineage = {shared(key, key): shared(value, value) if type(value) is str else value
                   for key, value in lineage.items()}
        charge = Charge(self.next_id("chg"), shared(billing_project_id, billing_project_id),
                        shared(charge_date, charge_date), shared(description, description), self._quantity(quantity),
                        unit_price, amount, shared(currency, currency), lineage, reversal_of, self.now_iso(),
                        "held" if hold else "unbilled", created_held=hold)
        self.charges[charge.id] = charge
        self._charges_changed(charge.billing_project_id)
        if reversal_of is not None:
            self.reversed_by[reversal_of] = charge.id
        self.publish("charge.created", charge.id, 1)
        return charge

    def charge_revision(self, billing_project_id: str) -> int:
        """How many times the project's charges have changed (one was created, released or invoiced): the same
        number twice means no charge of the project changed in between. 0 for a project with no charges."""
        return self._charge_revisions[billing_project_id]

    def _charges_changed(self, billing_project_id: str) -> None:
        self._charge_revisions[billing_project_id] += 1

    def _shared(self, text: str) -> str:
        """``text``, as the one object the ERP keeps for that string: the ledger holds every charge of a run, and
        most of what a charge says (its date, project, description, currency, the keys and most values of its
        lineage) repeats across charges; each request brings its own copy."""
        return self._strings.setdefault(text, text)

    def _quantity(self, quantity: Decimal) -> Decimal:
        """``quantity``, as the one object the ERP keeps for that exact number (same digits and exponent: "6.50"
        and "6.5" stay apart, since a charge shows its quantity as it was posted)."""
        return self._quantities.setdefault(str(quantity), quantity)

    def release_charge(self, charge_id: str, amount: int | None = None) -> list[Charge]:
        """Release a held charge, wholly or ``amount`` of it; returns the charges that now exist for it."""
        charge = self.get("charges", charge_id)
        if charge.status != "held":
            raise Conflict(f"charge {charge.id} is {charge.status}; only held charges can be released")
        if charge.id in self.reversed_by:
            raise Conflict(f"charge {charge.id} was reversed by {self.reversed_by[charge.id]}; a reversed charge "
                           "cannot be released")
        whole = amount is None or amount == charge.amount
        if not whole and not (0 < amount < charge.amount if charge.amount > 0 else charge.amount < amount < 0):
            raise ValidationFailed("amount", f"must lie strictly between 0 and the held amount {charge.amount}")
        charge.released_at = self.now_iso()  # only now: a refused release changes nothing
        self._charges_changed(charge.billing_project_id)
        if whole:
            charge.status = "unbilled"
            self.publish("charge.released", charge.id, 2)
            return [charge]
        charge.status = "released"
        parts = []
        for part, status in ((amount, "unbilled"), (charge.amount - amount, "held")):
            piece = Charge(self.next_id("chg"), charge.billing_project_id, charge.charge_date, charge.description,
                           charge.quantity, charge.unit_price, part, charge.currency, charge.lineage, None,
                           self.now_iso(), status, released_from=charge.id)
            self.charges[piece.id] = piece
            parts.append(piece)
        self.released_into[charge.id] = [piece.id for piece in parts]
        self.publish("charge.released", charge.id, 2)
        return parts

    def record_dispute(self, invoice_id: str, reason: str, charge_ids: list[str]) -> Invoice:
        invoice = self.get("invoices", invoice_id)
        if invoice.status != "posted":
            raise Conflict(f"invoice {invoice.id} is {invoice.status}; only posted invoices can be disputed")
        on_invoice = {line["charge_id"] for line in invoice.lines}
        unknown = [c for c in charge_ids if c not in on_invoice]
        if unknown:
            raise ValidationFailed("charge_ids", f"not on invoice {invoice.id}: {', '.join(unknown)}")
        invoice.disputes.append({"reason": reason, "charge_ids": list(charge_ids), "raised_at": self.now_iso()})
        self.publish("invoice.disputed", invoice.id, 2 + len(invoice.disputes))
        return invoice
    # -- billing ----------------------------------------------------------------
    def open_period(self, period: str) -> None:
        period = parse_period(period)
        if period in self.periods_opened:
            raise Conflict(f"period {period} is already open")
        self.periods_opened.append(period)
        self.publish("period.opened", period, 1)

    def run_billing(self, legal_entity: str, period: str) -> list[Invoice]:
        entity = self.get("legal_entities", legal_entity)
        period = parse_period(period)
        if period not in self.periods_opened:
            latest = max(self.periods_opened, default=None)
            raise Conflict(f"period: {period} has not been opened in the ERP (latest open period: {latest or 'none'}); "
                           "billing runs only for an open period", field="period", period=period)
        cutoff = period_end(period).isoformat()
        key = (entity.id, period)
        if key in self.billing_runs:
            raise BillingRunExists(entity.id, period, self.billing_runs[key])
        run_id = self.next_id("run")
        self.billing_runs[key] = run_id
        pending: dict[str, list[Charge]] = {}
        for charge in self.charges.values():
            if charge.status == "unbilled" and charge.charge_date <= cutoff:
                project = self.billing_projects[charge.billing_project_id]
                if project.legal_entity == entity.id:
                    pending.setdefault(project.id, []).append(charge)
        invoices = [self._draft_invoice(self.billing_projects[pid], period, charges)
                    for pid, charges in pending.items()]
        self.publish("billing_run.completed", run_id, 1)
        return invoices

    def _draft_invoice(self, project: BillingProject, period: str, charges: list[Charge]) -> Invoice:
        customer = self.customers[project.customer_id]
        rate = self.tax_rates[customer.tax_jurisdiction]
        lines = []
        for charge in charges:
            lines.append({
                "charge_id": charge.id, "description": charge.description, "charge_date": charge.charge_date,
                "quantity": self._shared(str(charge.quantity)), "unit_price": charge.unit_price, "amount": charge.amount,
                "tax": tax_on(charge.amount, rate), "lineage": charge.lineage, "reversal_of": charge.reversal_of,
            })
        subtotal = sum(line["amount"] for line in lines)
        tax_total = sum(line["tax"] for line in lines)
        total = subtotal + tax_total
        document_type = CREDIT_NOTE if total < 0 else INVOICE  # a negative net is credited, never invoiced
        invoice = Invoice(self.next_id("inv"), project.legal_entity, customer.id, project.id, period,
                          project.currency, lines, subtotal, tax_total, total, self.now_iso(),
                          document_type=document_type)
        for charge in charges:
            charge.status = "invoiced"
            charge.invoice_id = invoice.id
        self._charges_changed(project.id)
        self.invoices[invoice.id] = invoice
        self.publish(f"{document_type}.created", invoice.id, 1)
        return invoice

    def post_invoice(self, invoice_id: str) -> Invoice:
        invoice = self.get("invoices", invoice_id)
        if invoice.status != "draft":
            raise InvoiceNotDraft(invoice.id, invoice.status)
        entity = self.legal_entities[invoice.legal_entity]
        invoice.status = "posted"
        invoice.posted_at = self.now_iso()
        if invoice.document_type == CREDIT_NOTE:  # its own series; nothing falls due
            entity.last_credit_note_number += 1
            invoice.number = f"{entity.invoice_prefix}-{CREDIT_NOTE_SERIES}-{entity.last_credit_note_number:06d}"
        else:
            entity.last_number += 1
            invoice.number = f"{entity.invoice_prefix}-{entity.last_number:06d}"
            terms = self.billing_projects[invoice.billing_project_id].payment_terms_days
            posted_on = dt.date.fromisoformat(invoice.posted_at[:10])
            invoice.due_date = (posted_on + dt.timedelta(days=terms)).isoformat()
        self.publish(f"{invoice.document_type}.posted", invoice.id, 2)
        return invoice

    def record_payment(self, invoice_id: str, amount: int) -> Payment:
        invoice = self.get("invoices", invoice_id)
        if invoice.document_type == CREDIT_NOTE:
            raise Conflict(f"invoice {invoice.id} is a credit note ({invoice.total}); the customer never pays one",
                           invoice_id=invoice.id, document_type=CREDIT_NOTE)
        if invoice.status != "posted":
            raise Conflict(f"invoice {invoice.id} is {invoice.status}; only posted invoices take payments")
        if amount <= 0 or amount > invoice.total - invoice.amount_paid:
            raise ValidationFailed("amount", f"must be between 1 and the open balance {invoice.total - invoice.amount_paid}")
        payment = Payment(self.next_id("pay"), invoice.id, amount, self.now_iso())
        self.payments[payment.id] = payment
        invoice.amount_paid += amount
        if invoice.amount_paid == invoice.total:
            invoice.paid_at = payment.received_at
        self.publish("payment.received", payment.id, 1)
        return payment
