"""Comparing the connector's ledger with the ERP's charges, and adopting the ERP's truth.

The ledger (:mod:`reference_impl.ledger`) is the connector's memory of what
it wrote; the ERP is what is actually there. They drift apart when someone
else writes to the ERP (a finance user reverses or releases a charge by
hand) or when the connector's own write landed without it knowing (a
response lost, then retried under an idempotency key that had expired:
the ERP booked the batch twice). Nothing the connector does on events can
see that, because it plans every write from the ledger.

This module is the pure part of the repair, with no I/O:

- :func:`open_charges` groups a billing project's charges by source item
  (lineage ``source_system``/``source_type``/``source_id``, the ledger's
  key) and keeps the *open* ones: a charge and the reversal that cancels
  it (same bucket: billable or held) are both closed, and a charge
  released into parts is replaced by its parts. What is left sums, per
  bucket, to the item's net charge exactly as the oracle counts it; a
  reversal with nothing left to cancel (one booked twice) stays open as a
  negative charge, since it takes money off the item just the same. Only
  the connector's own charges (lineage ``written_by``) are the ledger's to
  match; an open charge someone else wrote for a source item is returned
  apart, to be reported, never reversed by a robot that cannot tell a
  mistaken duplicate from a finance user's deliberate adjustment.
- :func:`compare` names every item on which the ledger and the ERP
  disagree about which charges are open, either way.
- :func:`adopt` makes a ledger record say what the ERP says. It also bumps
  the record's write counter, so the next write for the item is planned
  under an idempotency key never used before.

The connector then re-settles each drifted item to its target, as it would
after any event, and the ERP converges to the right value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reference_impl.billing import WRITER
from reference_impl.ledger import ItemRecord


def item_key(lineage: dict[str, Any]) -> str | None:
    """The ledger key of the source item a charge's lineage names, or None if it names none."""
    system, kind, source_id = lineage.get("source_system"), lineage.get("source_type"), lineage.get("source_id")
    if not (system and kind and source_id):
        return None
    return f"{system}:{kind}/{source_id}"


@dataclass
class ErpItem:
    """The open charges of one source item in the ERP, in creation order."""

    key: str
    billable: list[list[Any]] = field(default_factory=list)  # [[charge_id, amount], ...], as in the ledger
    held: list[list[Any]] = field(default_factory=list)
    latest: dict[str, Any] = field(default_factory=dict)  # its latest open charge

    @property
    def lineage(self) -> dict[str, Any]:
        return {k: v for k, v in self.latest["lineage"].items() if k != "reverses"}

    @property
    def charge_date(self) -> str:
        return self.latest["charge_date"]


def open_charges(charges: list[dict[str, Any]]) -> tuple[dict[str, ErpItem], list[dict[str, Any]]]:
    """The open charges of ``charges`` (one billing project's, in creation order): the connector's own by
    source item, and the list of those someone else wrote for a source item.

    Charges whose lineage names no source item are not any item's (the
    oracle reports them as orphans); they are left out.
    """
    still_open: dict[str, dict[str, Any]] = {}  # by id, in creation order (a reversal follows what it reverses)
    for charge in charges:
        if charge["status"] == "released":  # its parts, later in the list, carry its amount now
            continue
        cancelled = still_open.get(charge.get("reversal_of") or "")
        if cancelled is not None and _bucket(cancelled) == _bucket(charge):
            del still_open[cancelled["id"]]
            continue
        still_open[charge["id"]] = charge
    items: dict[str, ErpItem] = {}
    foreign = []
    for charge in still_open.values():
        key = item_key(charge.get("lineage") or {})
        if key is None:
            continue
        if charge["lineage"].get("written_by") != WRITER:
            foreign.append(charge)
            continue
        item = items.setdefault(key, ErpItem(key))
        getattr(item, _bucket(charge)).append([charge["id"], charge["amount"]])
        item.latest = charge
    return items, foreign


def _bucket(charge: dict[str, Any]) -> str:
    return "held" if charge["status"] == "held" else "billable"


def charge_map(items: dict[str, ErpItem]) -> dict[str, tuple[str, int, str]]:
    """The open charges of ``items`` by id: (item key, amount, bucket), as the charge writer keeps them."""
    return {charge_id: (key, amount, bucket) for key, item in items.items()
            for bucket in ("billable", "held") for charge_id, amount in getattr(item, bucket)}


@dataclass
class Drift:
    """One item on which the ledger and the ERP disagree."""

    key: str
    ledger: dict[str, list[list[Any]]]  # {"billable": [...], "held": [...]}
    erp: dict[str, list[list[Any]]]

    @property
    def unknown_to_ledger(self) -> list[str]:
        """Open charges in the ERP the ledger does not know (a duplicate, someone else's charge)."""
        known = {c[0] for bucket in self.ledger.values() for c in bucket}
        return [c[0] for bucket in self.erp.values() for c in bucket if c[0] not in known]

    @property
    def gone_from_erp(self) -> list[str]:
        """Charges the ledger holds open that the ERP no longer does (reversed or released by someone else)."""
        open_ids = {c[0] for bucket in self.erp.values() for c in bucket}
        return [c[0] for bucket in self.ledger.values() for c in bucket if c[0] not in open_ids]

    def describe(self) -> str:
        ledger = sum(c[1] for bucket in self.ledger.values() for c in bucket)
        erp = sum(c[1] for bucket in self.erp.values() for c in bucket)
        parts = [f"ledger {ledger}, ERP {erp}"]
        if self.unknown_to_ledger:
            parts.append(f"unknown to the ledger: {', '.join(self.unknown_to_ledger)}")
        if self.gone_from_erp:
            parts.append(f"no longer open in the ERP: {', '.join(self.gone_from_erp)}")
        if not (self.unknown_to_ledger or self.gone_from_erp):
            parts.append("the same charges, held and billable swapped")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"item": self.key, "ledger": self.ledger, "erp": self.erp, "detail": self.describe()}


def _as_set(bucket: list[list[Any]]) -> set[tuple[str, int]]:
    return {(charge_id, amount) for charge_id, amount in bucket}


def compare(records: list[ItemRecord], erp: dict[str, ErpItem]) -> list[Drift]:
    """Every item, known to the ledger or the ERP, whose open charges differ between the two; by key."""
    by_key = {r.key: r for r in records}
    drifts = []
    for key in sorted(set(by_key) | set(erp)):
        record, item = by_key.get(key), erp.get(key)
        ledger_side = {"billable": record.billable if record else [], "held": record.held if record else []}
        erp_side = {"billable": item.billable if item else [], "held": item.held if item else []}
        if any(_as_set(ledger_side[b]) != _as_set(erp_side[b]) for b in ("billable", "held")):
            drifts.append(Drift(key, ledger_side, erp_side))
    return drifts


def adopt(record: ItemRecord | None, drift: Drift, contract_id: str, item: ErpItem | None) -> ItemRecord:
    """The item's ledger record, made to say what the ERP says (a new record for an item it never knew).

    A record the ledger never had carries the ERP's lineage, so reversing
    its charges cites the right item, and no facts: what the item is worth
    is then read again from its source.
    """
    if record is None:
        assert item is not None, "an item drifts only if one side has charges"
        record = ItemRecord(drift.key, contract_id, item.charge_date, lineage=item.lineage)
    record.billable = [list(c) for c in drift.erp["billable"]]
    record.held = [list(c) for c in drift.erp["held"]]
    record.writes += 1  # the next write for this item goes out under a key never used before
    return record
