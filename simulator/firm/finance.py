"""Finance and customers: periods, month-end billing runs, payments.

On the 1st of each month the ERP opens the period; at 06:00 finance runs
billing for the month just closed, per legal entity, and posts every draft.
Work approved after that run waits for the next one (billing lag).
Customers pay each posted invoice around its due date.
"""

from __future__ import annotations

import datetime as dt

from mocks.core.feed import ChangeEvent
from simulator.firm.context import DAY, FirmContext, add_months
from simulator.oracle import wip_at

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
        ctx.observe("unbilled_wip", {"month_end": last_day.isoformat(), "by_currency": wip_at(ctx.systems, last_day)})
        yield ctx.wait_until(ctx.clock.at(month))
        if month < scenario.end:
            erp.open_period(month.strftime("%Y-%m"))
        yield ctx.wait_until(ctx.clock.at(month, BILLING_HOUR))
        for entity in scenario.legal_entities:
            for invoice in erp.run_billing(entity.id, previous.strftime("%Y-%m")):
                erp.post_invoice(invoice.id)


def pay(ctx: FirmContext, invoice_id: str):
    rng = ctx.streams.get("customer", invoice_id)
    erp = ctx.systems.erp
    invoice = erp.invoices[invoice_id]
    due = dt.date.fromisoformat(invoice.due_date)
    delay = rng.uniform(*ctx.scenario.people.payment_delay_days)
    yield ctx.wait_until(ctx.clock.at(due, 10) + delay * DAY)
    balance = invoice.total - invoice.amount_paid
    if balance > 0:
        erp.record_payment(invoice.id, balance)


def watch_erp(ctx: FirmContext, event: ChangeEvent) -> None:
    if event.type == "erp.invoice.posted":
        ctx.env.process(pay(ctx, event.entity_id))
