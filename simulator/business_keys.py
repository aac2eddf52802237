"""Business keys: the same piece of work named the same way in two runs, whatever ids the systems assigned.

The PSA numbers timesheet lines, expenses, milestones and projects in the
order they are created, and that order moves with the connector's timing
(a project created an hour later under faults takes another number). A
business key names an item by what the firm knows it to be:

- a timesheet line: ``line:<contract>/<consultant>/<work date>/<role>``;
- an expense: ``expense:<contract>/<consultant>/<date>``;
- a PSA milestone: ``milestone:<contract>/<ref>``; a PSA project:
  ``project:<contract>`` (its contract from the firm's own book);
- anything the CRM, the CLM or the firm names (accounts, contracts,
  contract milestones, retainer periods): its id, which the firm assigns.

Two items with the same key in one run (a consultant logging one role
twice on one day, a connector creating a contract's project twice) are
told apart by ``#2``, ``#3``... in id order. Items of the ERP are not
keyed here: their ids are the connector's doing, so runs compare them by
value. Guarantee: the firm's decisions are keyed the same way (see
:mod:`simulator.firm.delivery`), so a scenario and its fault-free companion
give the same keys to the same work.
"""

from __future__ import annotations

from collections import Counter

from mocks.systems import Systems
from simulator.truth import GroundTruth


def business_keys(systems: Systems, truth: GroundTruth) -> dict[str, str]:
    """Item (as the oracle names it, e.g. ``psa:timesheet_line/tsl_000012``) -> its business key."""
    psa = systems.psa
    named: list[tuple[str, str]] = []
    for line_id, (sheet, line) in sorted(psa.lines.items()):
        contract = truth.contract_of(line.project_id) or f"?{line.project_id}"
        named.append((f"psa:timesheet_line/{line_id}", f"line:{contract}/{sheet.resource_id}/{line.date}/{line.role}"))
    for expense_id, expense in sorted(psa.expenses.items()):
        contract = truth.contract_of(expense.project_id) or f"?{expense.project_id}"
        named.append((f"psa:expense/{expense_id}", f"expense:{contract}/{expense.resource_id}/{expense.date}"))
    for milestone_id, milestone in sorted(psa.milestones.items()):
        contract = truth.contract_of(milestone.project_id) or f"?{milestone.project_id}"
        named.append((f"psa:milestone/{milestone_id}", f"milestone:{contract}/{milestone.ref}"))
    for project_id in sorted(psa.projects):
        named.append((f"psa:project/{project_id}", f"project:{truth.contract_of(project_id) or '?'}"))
    seen: Counter = Counter()
    keys: dict[str, str] = {}
    for item, key in named:
        seen[key] += 1
        keys[item] = key if seen[key] == 1 else f"{key}#{seen[key]}"
    return keys


def key_of(item: str, keys: dict[str, str]) -> str:
    """An item's business key; an item the firm names itself (``crm:``, ``clm:``) is its own key."""
    return keys.get(item, item)
