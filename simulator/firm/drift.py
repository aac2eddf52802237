"""Finance users who change the ERP by hand: the drift a connector's reconciliation must repair.

``faults.drift.manual_reversals`` is a probability per billing run: after
a run for one legal entity, a finance user of that entity picks one open,
uninvoiced charge of its billing projects (unbilled, or held over a cap;
not a reversal, not reversed, naming a source item) and reverses it by
hand, a few hours later (``delay_hours``), straight in the ERP. Maybe they
thought it was billed in error; the source says it was not, so the oracle
still expects it. The reversal copies the charge's lineage (as an ERP's
"reverse" action does), marked as written by the finance user, so the
oracle sees which item lost money; a held charge's reversal is held too,
so nothing is credited to the customer. Nothing tells the connector: its
ledger still counts the charge as open. Every reversal is a fault
(``manual_reversal``) in the trace, naming the charge and the item.

Randomness comes from a stream per billing run, so a scenario's other
processes draw the same numbers with or without drift.
"""

from __future__ import annotations

import random

from mocks.core.feed import ChangeEvent
from mocks.erp.models import Charge, ErpBackend
from simulator.firm.context import HOUR, FirmContext
from simulator.valuation import item_of

MANUAL_REVERSAL = "manual_reversal"
FINANCE_USER = "erp-user:finance"


def watch_billing_runs(ctx: FirmContext, event: ChangeEvent) -> None:
    """Feed subscriber: after a billing run, maybe a finance user reverses a charge by hand."""
    if event.type != "erp.billing_run.completed":
        return
    rng = ctx.streams.get("drift", "manual_reversal", event.entity_id)
    if rng.random() < ctx.scenario.faults.drift.manual_reversals:
        ctx.env.process(_reverse_by_hand(ctx, rng, event.entity_id))


def _reverse_by_hand(ctx: FirmContext, rng: random.Random, run_id: str):
    yield ctx.env.timeout(rng.uniform(*ctx.scenario.faults.drift.delay_hours) * HOUR)
    if ctx.at_rest:
        return
    erp = ctx.systems.erp
    entity = next(entity for (entity, _), run in erp.billing_runs.items() if run == run_id)
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    candidates = [c for c in erp.charges.values()
                  if c.status in ("unbilled", "held") and c.reversal_of is None and c.amount > 0 and c.id not in reversed_ids
                  and item_of(c.lineage) is not None
                  and erp.billing_projects[c.billing_project_id].legal_entity == entity]
    if not candidates:
        return
    charge = rng.choice(candidates)
    reversal = reverse_by_hand(erp, charge)
    ctx.fire_fault(MANUAL_REVERSAL, charge=charge.id, reversal=reversal.id, item=item_of(charge.lineage),
                   amount=charge.amount, currency=charge.currency, held=charge.status == "held", run=run_id)


def reverse_by_hand(erp: ErpBackend, charge: Charge) -> Charge:
    """A finance user's reversal of ``charge``, straight in the ERP: its lineage copied and marked as theirs, held
    if the charge is held."""
    return erp.create_charge(
        billing_project_id=charge.billing_project_id, charge_date=charge.charge_date,
        description=f"Manual reversal of {charge.id}", quantity=-charge.quantity, unit_price=charge.unit_price,
        amount=-charge.amount, currency=charge.currency,
        lineage={**charge.lineage, "written_by": FINANCE_USER, "reverses": charge.id}, reversal_of=charge.id,
        hold=charge.status == "held",
    )
