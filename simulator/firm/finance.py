"""Finance and customers: periods, month-end billing runs, disputes, write-offs, payments.

On the 1st of each month the ERP opens the period; at 06:00 finance runs
billing for the month just closed, per legal entity, and posts every draft.
Work approved after that run waits for the next one (billing lag).

Customers check each invoice against their contract when it arrives: if
it bills any item for more than the contract says it is worth (so far,
across every invoice they have had), or a capped contract beyond its cap,
they dispute it and pay only after the dispute is settled. Otherwise they
pay around the due date. A credit note (a month whose net for a project is
negative) is filed, never paid or disputed: its lines still count in the
customer's running totals, so later charges are judged net of the credit.

Some clients query the hours on a contract's final invoice
(``final_invoice_write_offs``): after the billing run that follows the
contract's end, the PM writes part of one line off
(:func:`simulator.firm.delivery.write_off`), and the next run, with no
new work to bill, nets negative: a credit note.
"""

from __future__ import annotations

import datetime as dt

from mocks.core.feed import ChangeEvent
from simulator.firm.context import DAY, FirmContext, add_months
from simulator.firm.delivery import write_off
from simulator.valuation import Valuer, item_of, wip_at

BILLING_HOUR = 6.0


def month_ends(ctx: FirmContext):
    erp = ctx.systems.erp
    scenario = ctx.scenario
    month = scenario.start
    erp.open_period(month.strftime("%Y-%m"))
    while month < scenario.end:
        previous, month = month, add_months(month, 1)
        yield ctx.wait_until(ctx.clock.at(month) - 1)
        last_day = month - dt.timedelta(days=1)
        ctx.observe("unbilled_wip", {"month_end": last_day.isoformat(), **wip_at(ctx.systems, ctx.truth, last_day)})
        yield ctx.wait_until(ctx.clock.at(month))
        if month < scenario.end:
            erp.open_period(month.strftime("%Y-%m"))
        yield ctx.wait_until(ctx.clock.at(month, BILLING_HOUR))
        for entity in scenario.legal_entities:
            for invoice in erp.run_billing(entity.id, previous.strftime("%Y-%m")):
                erp.post_invoice(invoice.id)
        if scenario.people.final_invoice_write_offs:
            for contract_id in _ended_in(ctx, previous, last_day):
                ctx.env.process(write_off(ctx, contract_id))


def _ended_in(ctx: FirmContext, first_day: dt.date, last_day: dt.date) -> list[str]:
    """The staffed contracts whose term (as amended so far) ended between the two days, in the order they were
    staffed."""
    contracts = ctx.systems.clm.contracts
    return [contract_id for contract_id in ctx.teams
            if first_day <= dt.date.fromisoformat(contracts[contract_id].terms.end_date) <= last_day]


def _overbilled_charges(ctx: FirmContext, invoice) -> list[str]:
    """The charges on ``invoice`` that take an item (or a capped contract) past what the contract allows.

    The customer keeps a running total per item over every invoice it has
    received, and judges the invoice as a whole: a reversal and its
    re-charge on the same invoice net out before anything is compared.
    """
    received, by_contract = ctx.customers.by_item, ctx.customers.by_contract
    contract_id = ctx.systems.erp.billing_projects[invoice.billing_project_id].contract_ref
    charges_of = _receive(ctx, invoice)
    valuer = Valuer(ctx.systems, ctx.truth, with_approvals=False)
    wrong = []
    for item, charge_ids in charges_of.items():
        source = valuer.value(item) if item else None
        if source is None or received[item] > source.amount:
            wrong.extend(charge_ids)
    cap = ctx.systems.clm.contracts[contract_id].terms.cap
    if cap is not None and by_contract[contract_id] > cap and not wrong:
        wrong = [line["charge_id"] for line in invoice.lines if line["amount"] > 0][:1]
    return wrong


def _receive(ctx: FirmContext, document) -> dict[str | None, list[str]]:
    """Add an invoice's or credit note's lines to the customer's running totals; its charge ids by item."""
    received, by_contract = ctx.customers.by_item, ctx.customers.by_contract
    contract_id = ctx.systems.erp.billing_projects[document.billing_project_id].contract_ref
    charges_of: dict[str | None, list[str]] = {}
    for line in document.lines:
        item = item_of(line["lineage"])
        received[item] = received.get(item, 0) + line["amount"]
        by_contract[contract_id] = by_contract.get(contract_id, 0) + line["amount"]
        charges_of.setdefault(item, []).append(line["charge_id"])
    return charges_of


def pay(ctx: FirmContext, invoice_id: str):
    rng = ctx.streams.get("customer", invoice_id)
    erp = ctx.systems.erp
    invoice = erp.invoices[invoice_id]
    due = dt.date.fromisoformat(invoice.due_date)
    delay = rng.uniform(*ctx.scenario.people.payment_delay_days)
    disputed = _overbilled_charges(ctx, invoice)
    if disputed:
        erp.record_dispute(invoice.id, "billed beyond the contract", disputed)
        delay += rng.uniform(10, 30)  # paid once the dispute is settled
    yield ctx.wait_until(ctx.clock.at(due, 10) + delay * DAY)
    balance = invoice.total - invoice.amount_paid
    if balance > 0:
        erp.record_payment(invoice.id, balance)


def watch_erp(ctx: FirmContext, event: ChangeEvent) -> None:
    if event.type == "erp.invoice.posted":
        ctx.env.process(pay(ctx, event.entity_id))
    elif event.type == "erp.credit_note.posted":  # filed, never paid: only the running totals change
        _receive(ctx, ctx.systems.erp.invoices[event.entity_id])
