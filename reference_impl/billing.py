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
- every charge it creates is honest: its amount is its quantity times its
  unit price (the ERP refuses anything else). An item only partly under
  the cap is therefore charged whole, on hold, and the part under the cap
  is released from that charge (``POST /charges/{id}/release``), which
  splits it in the ERP; the same goes for an item put partly back on hold.

Work is *planned* from the ledger alone, then *executed* as charge batches
(``POST /charge-batches``, all or nothing). A batch's ``Idempotency-Key``
is derived from the write counters of the items in it, and the ledger is
updated only after the ERP answered; so if the answer is lost, or the
connector dies before saving, the same plan is made again from the same
ledger, under the same key, and the ERP replays it instead of charging
twice. Releases (``POST /charges/{id}/release``) follow the same rule with
a per-item key.

Every charge it writes names its writer in its lineage (``written_by``), so
a reconciliation can tell the connector's own charges (including ones whose
response it never saw) from charges someone else put on the same item.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from reference_impl.api import ApiError, SystemClient
from reference_impl.ledger import ItemRecord, Ledger

BATCH_LIMIT = 500
WRITER = "c2c-reference"  # lineage ``written_by`` of every charge this writer creates


class OutcomeUnknown(ApiError):
    """A batch's key was first used for another batch: that earlier attempt's answer was lost, and what it wrote
    is not in the ledger. The source changed since, so the plan did too (a new payload under the same key).

    Nothing more can be written for the contract until the ledger adopts what the ERP holds (the
    reconciliation of ``contract_id``, which also gives every drifted item a fresh key); the work is retried
    after that, like any failed write.
    """

    def __init__(self, contract_id: str, cause: ApiError) -> None:
        Exception.__init__(self, f"{cause}; reconciling contract {contract_id} before writing again")
        self.contract_id = contract_id
        self.status = cause.status
        self.retry_after = None
        self.problem = cause.problem


@dataclass
class ContractBilling:
    contract_id: str
    version: int
    billing_project_id: str
    currency: str
    billing_type: str
    cap: int | None

    @property
    def capped(self) -> bool:
        return self.billing_type == "capped_tm" and self.cap is not None


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

    @classmethod
    def from_record(cls, record: ItemRecord) -> Target:
        f = record.facts
        return cls(record.key, record.order, record.billed + record.held_amount, f["charge_date"], f["description"],
                   f["quantity"], f["unit_price"], record.lineage, f)


@dataclass
class Planned:
    """One charge to create, and what it does to its item's ledger record once created."""

    record: ItemRecord
    payload: dict[str, Any]
    bucket: str  # "billable" or "held"
    reverses: str | None = None


class ChargeWriter:
    """Moves the ERP's charges for a contract's items to their targets (see the module docstring).

    Guarantees: after :meth:`settle` returns, every item it was given has
    open charges summing to its target (billed, or billed and held under a
    cap), and the contract satisfies billed = min(value, cap). If it raises
    midway, the ledger records exactly the batches the ERP confirmed, so
    calling it again with the same targets finishes the job without
    writing anything twice.
    """

    def __init__(self, erp: SystemClient, ledger: Ledger) -> None:
        self.erp = erp
        self.ledger = ledger
        # Derived from the ledger, kept in step with every write, rebuilt after a crash: per contract,
        # [billed, held] and the open charges by id (item key, amount, bucket).
        self._totals: dict[str, list[int]] = {}
        self._open: dict[str, dict[str, tuple[str, int, str]]] = {}
        self._orders: dict[str, dict[str, str]] = {}  # per contract: item key -> its order (work date)

    def invalidate(self, contract_id: str) -> None:
        """Forget what is derived for the contract: its ledger records were changed from outside (a reconciliation)."""
        self._totals.pop(contract_id, None)
        self._open.pop(contract_id, None)
        self._orders.pop(contract_id, None)

    def totals_of(self, contract_id: str) -> list[int]:
        """The contract's [billed, held] as the ledger has them (a hook for variants: read, never change)."""
        totals = self._totals.get(contract_id)
        if totals is None:
            records = self.ledger.items_of(contract_id)
            totals = [sum(r.billed for r in records), sum(r.held_amount for r in records)]
            self._totals[contract_id] = totals
            self._open[contract_id] = {charge_id: (r.key, amount, bucket) for r in records
                                       for bucket in ("billable", "held") for charge_id, amount in getattr(r, bucket)}
            self._orders[contract_id] = {r.key: r.order for r in records}
        return totals

    def open_charges(self, contract_id: str) -> dict[str, tuple[str, int, str]]:
        """The contract's open charges as the ledger has them: charge id -> (item key, amount, bucket)."""
        self.totals_of(contract_id)
        return self._open[contract_id]

    # -- planning (pure: reads the ledger, writes nothing) -------------------------------------
    @staticmethod
    def new_charge(contract: ContractBilling, record: ItemRecord, target: Target, amount: int, hold: bool) -> Planned:
        """The charge to create for an item (a hook for variants: what each new charge says)."""
        return Planned(record, {
            "billing_project_id": contract.billing_project_id, "charge_date": target.charge_date,
            "description": target.description + (" (held: over cap)" if hold else ""),
            "quantity": target.quantity, "unit_price": target.unit_price, "amount": amount,
            "currency": contract.currency, "lineage": {**target.lineage, "written_by": WRITER}, "hold": hold,
        }, "held" if hold else "billable")

    @staticmethod
    def _reversals(contract: ContractBilling, record: ItemRecord, charge_date: str) -> list[Planned]:
        planned = []
        for bucket in ("billable", "held"):
            for charge_id, amount in getattr(record, bucket):
                planned.append(Planned(record, {
                    "billing_project_id": contract.billing_project_id, "charge_date": charge_date,
                    "description": f"Reversal of {charge_id}", "quantity": "1", "unit_price": -amount,
                    "amount": -amount, "currency": contract.currency,
                    "lineage": {**record.lineage, "written_by": WRITER, "reverses": charge_id}, "reversal_of": charge_id,
                    "hold": bucket == "held",
                }, bucket, reverses=charge_id))
        return planned

    @staticmethod
    def _unchanged(record: ItemRecord, target: Target) -> bool:
        return (record.billed + record.held_amount == target.amount
                and record.lineage.get("approval_id") == target.lineage.get("approval_id")
                and (record.billable or record.held or target.amount == 0)
                # a negative open charge (a reversal booked twice, adopted from the ERP) is always undone
                and all(amount > 0 for _, amount in record.billable + record.held))

    # -- executing -------------------------------------------------------------------------------
    def _execute(self, contract: ContractBilling, planned: list[Planned]) -> None:
        totals = self.totals_of(contract.contract_id)
        open_charges = self._open[contract.contract_id]
        for start in range(0, len(planned), BATCH_LIMIT):
            chunk = planned[start:start + BATCH_LIMIT]
            records = {p.record.key: p.record for p in chunk}
            state = "|".join(f"{key}:{records[key].writes}" for key in sorted(records))
            key = "c2c:batch:" + hashlib.sha256(state.encode()).hexdigest()[:40]
            try:
                created = self.erp.call("POST", "/charge-batches", json={"charges": [p.payload for p in chunk]},
                                        headers={"idempotency-key": key})["data"]
            except ApiError as exc:
                if exc.status == 422 and str(exc.problem.get("type", "")).endswith("/idempotency_error"):
                    raise OutcomeUnknown(contract.contract_id, exc) from exc
                raise
            for plan, charge in zip(chunk, created, strict=True):
                bucket = getattr(plan.record, plan.bucket)
                if plan.reverses is not None:
                    bucket[:] = [entry for entry in bucket if entry[0] != plan.reverses]
                    open_charges.pop(plan.reverses, None)
                else:
                    bucket.append([charge["id"], charge["amount"]])
                    open_charges[charge["id"]] = (plan.record.key, charge["amount"], plan.bucket)
                    self._orders[contract.contract_id][plan.record.key] = plan.record.order
                totals[1 if plan.bucket == "held" else 0] += charge["amount"]
            for record in records.values():
                record.writes += 1
                self.ledger.save(record)

    def release(self, contract: ContractBilling, record: ItemRecord, amount: int) -> None:
        """Release ``amount`` of the item's held charges, oldest charge first."""
        totals = self.totals_of(contract.contract_id)
        open_charges = self._open[contract.contract_id]
        while record.held and amount > 0:
            charge_id, held = record.held[0]
            take = min(held, amount)
            parts = self.erp.call("POST", f"/charges/{charge_id}/release",
                                  json={} if take == held else {"amount": take},
                                  headers={"idempotency-key": f"c2c:{record.key}:{record.writes}"})["data"]
            record.held.pop(0)
            open_charges.pop(charge_id, None)
            for part in parts:
                bucket = "billable" if part["status"] == "unbilled" else "held"
                getattr(record, bucket).append([part["id"], part["amount"]])
                open_charges[part["id"]] = (record.key, part["amount"], bucket)
            record.writes += 1
            amount -= take
            totals[0] += take
            totals[1] -= take
            self.ledger.save(record)

    # -- bringing items to target ----------------------------------------------------------------
    def settle(self, contract: ContractBilling, targets: list[Target]) -> None:
        changed: list[tuple[ItemRecord, Target]] = []
        planned: list[Planned] = []
        billed = self.totals_of(contract.contract_id)[0]
        for target in targets:
            record = self.ledger.get_or_new(target.key, contract.contract_id, target.order)
            if self._unchanged(record, target):
                if not record.facts and (record.billable or record.held):  # adopted from the ERP, and right
                    record.lineage, record.facts = target.lineage, target.facts
                    self.ledger.save(record)
                continue
            reversals = self._reversals(contract, record, target.charge_date)
            billed += sum(p.payload["amount"] for p in reversals if p.bucket == "billable")  # reversals are negative
            planned += reversals
            record.lineage, record.facts = target.lineage, target.facts
            changed.append((record, target))
        waiting = self._older_holds(contract, {record.key for record, _ in changed})
        releases: list[tuple[ItemRecord, int]] = []  # (item charged whole on hold, the part to release)
        for record, target in sorted(changed, key=lambda pair: (pair[1].order, pair[1].key)):
            if target.amount == 0:
                continue
            billable = target.amount
            if contract.capped:  # older held work takes the headroom first (rebalance releases it)
                billable = min(target.amount, max(0, contract.cap - billed - waiting(target.order, target.key)))
            planned.append(self.new_charge(contract, record, target, target.amount, hold=billable < target.amount))
            if 0 < billable < target.amount:
                releases.append((record, billable))
            billed += billable
        if planned:
            self._execute(contract, planned)
            for record, amount in releases:  # a crash before these leaves holds that rebalance releases
                self.release(contract, record, amount)
        else:
            for record, _ in changed:  # new lineage or facts, nothing to write to the ERP
                self.ledger.save(record)
        if contract.capped:
            self.rebalance(contract)

    def _older_holds(self, contract: ContractBilling, changing: set[str]) -> Callable[[str, str], int]:
        """For a capped contract, a function (order, key) -> what items not in ``changing`` hold of older work."""
        if not contract.capped or not self.totals_of(contract.contract_id)[1]:
            return lambda order, key: 0
        orders, held = self._orders[contract.contract_id], {}
        for key, amount, bucket in self._open[contract.contract_id].values():
            if bucket == "held" and key not in changing:
                held[key] = held.get(key, 0) + amount
        holds = sorted(((orders[key], key), amount) for key, amount in held.items() if amount > 0)
        positions = [position for position, _ in holds]
        before = [0, *accumulate(amount for _, amount in holds)]  # before[i]: what the first i holds hold
        return lambda order, key: before[bisect_left(positions, (order, key))]

    def rebalance(self, contract: ContractBilling) -> None:
        """Restore billed = min(value, cap) after the cap or an item's value moved."""
        billed, held = self.totals_of(contract.contract_id)
        cap = contract.cap if contract.cap is not None else billed + held
        if billed < cap and held > 0:
            for record in sorted(self.ledger.items_of(contract.contract_id), key=lambda r: (r.order, r.key)):
                headroom = cap - self.totals_of(contract.contract_id)[0]
                if headroom <= 0:
                    break
                if record.held_amount > 0:
                    self.release(contract, record, min(headroom, record.held_amount))
        elif billed > cap:
            planned: list[Planned] = []
            releases: list[tuple[ItemRecord, int]] = []
            excess = billed - cap
            for record in sorted(self.ledger.items_of(contract.contract_id), key=lambda r: (r.order, r.key),
                                 reverse=True):
                if excess <= 0:
                    break
                if record.billed <= 0:
                    continue
                target = Target.from_record(record)
                keep = max(0, record.billed - excess)
                excess -= record.billed - keep
                planned += self._reversals(contract, record, target.charge_date)
                planned.append(self.new_charge(contract, record, target, target.amount, hold=True))
                if keep:
                    releases.append((record, keep))
            self._execute(contract, planned)
            for record, amount in releases:
                self.release(contract, record, amount)
