"""The connector's durable record of what it wrote to the ERP, per source item.

For each source item (a timesheet line, an expense, a milestone, a retainer
period) the ledger keeps the ERP charges that are still open: billable ones
and held ones, with their amounts, plus a write counter. The counter makes
every ERP write's ``Idempotency-Key`` a pure function of the item's history,
so retrying a write whose response was lost replays it instead of
duplicating it. Everything lives in the runtime's durable storage.

Each contract's records have a *revision* (:meth:`Ledger.revision`): the
same value twice means none of them was saved in between. It is counted in
memory under an epoch stored durably and moved on at every start, so a
revision taken before a restart never equals one taken after it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ItemRecord:
    key: str
    contract_id: str
    order: str  # work date (or milestone / period date): holds release oldest first
    billable: list[list[Any]] = field(default_factory=list)  # [[charge_id, amount], ...]
    held: list[list[Any]] = field(default_factory=list)
    writes: int = 0
    lineage: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def billed(self) -> int:
        return sum(amount for _, amount in self.billable)

    @property
    def held_amount(self) -> int:
        return sum(amount for _, amount in self.held)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


class Ledger:
    PREFIX = "item:"
    EPOCH = "ledger_epoch"

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self._by_contract: dict[str, set[str]] | None = None
        self._epoch = (storage.get(self.EPOCH) or 0) + 1
        storage[self.EPOCH] = self._epoch
        self._saves: Counter = Counter()  # contract id -> records saved since this start

    def revision(self, contract_id: str) -> str:
        """The contract's records' revision: it changes whenever one of them is saved, and at every start."""
        return f"{self._epoch}.{self._saves[contract_id]}"

    def _index(self) -> dict[str, set[str]]:
        if self._by_contract is None:
            index: dict[str, set[str]] = defaultdict(set)
            for _, value in self.storage.scan(self.PREFIX):
                index[value["contract_id"]].add(value["key"])
            self._by_contract = index
        return self._by_contract

    def get(self, key: str) -> ItemRecord | None:
        value = self.storage.get(self.PREFIX + key)
        return None if value is None else ItemRecord(**value)

    def get_or_new(self, key: str, contract_id: str, order: str) -> ItemRecord:
        return self.get(key) or ItemRecord(key, contract_id, order)

    def save(self, record: ItemRecord) -> None:
        self.storage[self.PREFIX + record.key] = record.to_json()
        self._index()[record.contract_id].add(record.key)
        self._saves[record.contract_id] += 1

    def items_of(self, contract_id: str) -> list[ItemRecord]:
        records = [self.get(key) for key in sorted(self._index().get(contract_id, ()))]
        return [r for r in records if r is not None]
