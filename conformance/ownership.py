"""Who owns each mismatch: every mismatch of a judged run is some requirement's failure.

A requirement *claims* the mismatches it holds against the connector: a
billing requirement those of its rules on the fault-free billing scenarios,
a fault requirement those its scenario's faults caused. What a fault
requirement does not claim is what the connector also gets wrong on a
fault-free day, and that is excused only when a requirement judged on a
fault-free scenario claims the same defect there (the same oracle rule on
the same kind of item): then that requirement owns it. Anything else a
connector gets wrong on a good day under this scenario's conditions (firm
behaviour that is no fault, such as an account corrected minutes after an
edit) stays with the fault requirement, marked "also without this
scenario's faults". So no mismatch falls between the fault-free
subtraction and the billing checks. The retroactive-amendment scenario is
judged the same way: what C2C-BILL-003 does not claim (work the
retroactive entry did not reach) is owned by the requirement that claims
the same defect on the billing scenario, or else by C2C-BILL-003.

:class:`Ownership` keeps the claims of one session and lists, for every
mismatch of every judged run, the requirements that own it
(``mismatch-owners.jsonl`` in the report directory).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from simulator.oracle import Mismatch

INVOICING_RULES = frozenset({"not_invoiced"})  # when charges reach invoices: C2C-BILL-009, on a day without faults
CALM_SCENARIOS = ("billing.yaml",)  # the fault-free scenario whose requirements own a defect wherever it shows


HOURLY_VALUE = frozenset({"net_charge", "capped_item", "cap"})  # one defect, seen per item or (capped) per contract
HOURLY_KINDS = frozenset({"timesheet_line", "expense", "contract"})


def defect_of(mismatch: Mismatch) -> tuple[str, str]:
    """What a mismatch is wrong about, whatever item: its oracle rule and the kind of item (``timesheet_line``).

    Hourly work valued wrong is one defect however it shows: a line's net
    charge, a capped line's billed + held, or a capped contract's total (a
    wrong rate shows as the last where the cap does not bind, and as the
    first where it does).
    """
    rule, kind = mismatch.rule, mismatch.item.partition("/")[0].partition(":")[2]
    if rule in HOURLY_VALUE and kind in HOURLY_KINDS:
        return "hourly_value", "hourly_work"
    return rule, kind


class Ownership:
    """The claims requirements made in one session, by mismatch."""

    def __init__(self) -> None:
        self._owners: dict[int, set[str]] = defaultdict(set)
        self._held: list[Mismatch] = []  # keeps claimed mismatches alive, so their ids stay theirs

    def claim(self, requirement_id: str, mismatches: Iterable[Mismatch]) -> None:
        for mismatch in mismatches:
            self._owners[id(mismatch)].add(requirement_id)
            self._held.append(mismatch)

    def owners(self, mismatch: Mismatch) -> list[str]:
        return sorted(self._owners.get(id(mismatch), ()))

    def rows(self, runs: Iterable[tuple[str, Iterable[Mismatch]]]) -> list[dict[str, Any]]:
        """One row per mismatch of each judged run (scenario name, mismatches), with its owners."""
        rows = []
        for scenario, mismatches in runs:
            for mismatch in mismatches:
                rows.append({"scenario": scenario, "rule": mismatch.rule, "item": mismatch.item,
                             "money_at_stake": mismatch.money_at_stake if mismatch.currency else 0,
                             "currency": mismatch.currency, "owners": self.owners(mismatch)})
        return rows
