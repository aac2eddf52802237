"""Bringing the ERP to the target state for each source item.

The connector never "adds a charge because an event arrived". It computes
the *target* for each affected item from current source state (what the
item is worth now) and moves the ERP there:

- an item whose value changed has its open charges reversed and is charged
  afresh with the new amount and lineage (reversal and re-charge), so
  posted invoices never change and the next invoice carries the correction;
- on a capped contract, each item is billed up to the cap's headroom and
  the rest is charged on hold; when headroom appears (the cap rises, or an
  item's value falls) held charges are released oldest work date first,
  and when the cap falls below what is billed, the newest billing goes
  back on hold. So per item billed + held = value, and per contract
  billed = min(value, cap).

Every write's ``Idempotency-Key`` is ``c2c:{item}:{n}`` with ``n`` the
item's write counter from the ledger: a retried write replays, never
duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reference_impl.api import SystemClient
from reference_impl.ledger import ItemRecord, Ledger


@dataclass
class ContractBilling:
    contract_id: str
    version: int
    billing_project_id: str
    currency: str
    billing_type: str
    cap: int | None


@dataclass
class Target:
    """What one source item is worth now, and how to charge it."""

    key: str
    order: str
    amount: int
    charge_date: str
    description: str
    quantity: str
    unit_price: int
    lineage: dict[str, Any]
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # What re-charging needs later (a rebalance) travels with the item's facts.
        self.facts = {**self.facts, "charge_date": self.charge_date, "description": self.description,
                      "quantity": self.quantity, "unit_price": self.unit_price}


class ChargeWriter:
    def __init__(self, erp: SystemClient, ledger: Ledger) -> None:
        self.erp = erp
        self.ledger = ledger
        self._totals: dict[str, list[int]] = {}  # contract -> [billed, held]; derived, rebuilt after a crash

    # -- primitive writes ----------------------------------------------------------
    def _post(self, record: ItemRecord, path: str, payload: dict[str, Any]) -> Any:
        key = f"c2c:{record.key}:{record.writes}"
        body = self.erp.call("POST", path, json=payload, headers={"idempotency-key": key})
        record.writes += 1
        return body

    def _totals_of(self, contract_id: str) -> list[int]:
        totals = self._totals.get(contract_id)
        if totals is None:
            records = self.ledger.items_of(contract_id)
            totals = [sum(r.billed for r in records), sum(r.held_amount for r in records)]
            self._totals[contract_id] = totals
        return totals

    def _charge(self, contract: ContractBilling, record: ItemRecord, target: Target, amount: int, hold: bool) -> None:
        charge = self._post(record, "/charges", {
            "billing_project_id": contract.billing_project_id, "charge_date": target.charge_date,
            "description": target.description + (" (held: over cap)" if hold else ""),
            "quantity": target.quantity, "unit_price": target.unit_price, "amount": amount,
            "currency": contract.currency, "lineage": target.lineage, "hold": hold,
        })
        (record.held if hold else record.billable).append([charge["id"], amount])
        self._totals_of(contract.contract_id)[1 if hold else 0] += amount
        self.ledger.save(record)

    def _reverse_all(self, contract: ContractBilling, record: ItemRecord, charge_date: str) -> None:
        totals = self._totals_of(contract.contract_id)
        for bucket, hold in ((record.billable, False), (record.held, True)):
            while bucket:
                charge_id, amount = bucket[0]
                self._post(record, "/charges", {
                    "billing_project_id": contract.billing_project_id, "charge_date": charge_date,
                    "description": f"Reversal of {charge_id}", "quantity": "1", "unit_price": -amount,
                    "amount": -amount, "currency": contract.currency,
                    "lineage": {**record.lineage, "reverses": charge_id}, "reversal_of": charge_id, "hold": hold,
                })
                bucket.pop(0)
                totals[1 if hold else 0] -= amount
                self.ledger.save(record)

    def _release(self, contract: ContractBilling, record: ItemRecord, amount: int) -> int:
        """Release up to ``amount`` of the item's held charges; returns what was released."""
        released = 0
        totals = self._totals_of(contract.contract_id)
        while record.held and released < amount:
            charge_id, held = record.held[0]
            take = min(held, amount - released)
            parts = self._post(record, f"/charges/{charge_id}/release", {} if take == held else {"amount": take})
            record.held.pop(0)
            for part in parts["data"]:
                (record.billable if part["status"] == "unbilled" else record.held).append([part["id"], part["amount"]])
            released += take
            totals[0] += take
            totals[1] -= take
            self.ledger.save(record)
        return released

    # -- bringing items to target ----------------------------------------------------------
    @staticmethod
    def _unchanged(record: ItemRecord, target: Target) -> bool:
        return (record.billed + record.held_amount == target.amount
                and record.lineage.get("approval_id") == target.lineage.get("approval_id")
                and (record.billable or record.held or target.amount == 0))

    def settle(self, contract: ContractBilling, targets: list[Target]) -> None:
        changed: list[tuple[ItemRecord, Target]] = []
        for target in targets:
            record = self.ledger.get_or_new(target.key, contract.contract_id, target.order)
            if self._unchanged(record, target):
                continue
            self._reverse_all(contract, record, target.charge_date)
            record.lineage, record.facts = target.lineage, target.facts
            self.ledger.save(record)
            changed.append((record, target))
        capped = contract.billing_type == "capped_tm" and contract.cap is not None
        for record, target in sorted(changed, key=lambda pair: (pair[1].order, pair[1].key)):
            if target.amount == 0:
                continue
            if not capped:
                self._charge(contract, record, target, target.amount, hold=False)
                continue
            headroom = max(0, contract.cap - self._totals_of(contract.contract_id)[0])
            billable = min(target.amount, headroom)
            if billable:
                self._charge(contract, record, target, billable, hold=False)
            if target.amount - billable:
                self._charge(contract, record, target, target.amount - billable, hold=True)
        if capped:
            self.rebalance(contract)

    def rebalance(self, contract: ContractBilling) -> None:
        """Restore billed = min(value, cap) after the cap or an item's value moved."""
        billed, held = self._totals_of(contract.contract_id)
        cap = contract.cap if contract.cap is not None else billed + held
        if billed < cap and held > 0:
            for record in sorted(self.ledger.items_of(contract.contract_id), key=lambda r: (r.order, r.key)):
                headroom = cap - self._totals_of(contract.contract_id)[0]
                if headroom <= 0:
                    break
                if record.held_amount > 0:
                    self._release(contract, record, min(headroom, record.held_amount))
        elif billed > cap:
            for record in sorted(self.ledger.items_of(contract.contract_id), key=lambda r: (r.order, r.key),
                                 reverse=True):
                excess = self._totals_of(contract.contract_id)[0] - cap
                if excess <= 0:
                    break
                if record.billed <= 0:
                    continue
                value, keep = record.billed + record.held_amount, max(0, record.billed - excess)
                target = Target(record.key, record.order, value, record.facts["charge_date"],
                                record.facts["description"], record.facts["quantity"], record.facts["unit_price"],
                                record.lineage, record.facts)
                self._reverse_all(contract, record, target.charge_date)
                if keep:
                    self._charge(contract, record, target, keep, hold=False)
                self._charge(contract, record, target, value - keep, hold=True)
