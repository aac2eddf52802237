"""The oracle: what the ERP should hold, recomputed from the final source state.

It reads the mock systems' final state (never the connector's) and derives
each source item's expected net charge by DESIGN §6. Its arithmetic is its
own: hours become whole quarter hours and money stays in integers, so it
shares no rating or rounding code with any connector (nor with the ERP's
tax code). The verdict depends only on final state, never on the order in
which events arrived.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from simulator.systems import Systems


def half_up(value: Fraction) -> int:
    """Round half away from zero to an integer (half-up on magnitudes, as accountants do)."""
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def labour_amount(hours: Decimal, rate_minor: int) -> int:
    quarters = Fraction(hours) * 4
    if quarters.denominator != 1:
        raise ValueError(f"{hours} hours is not a whole number of quarter hours")
    return half_up(Fraction(int(quarters) * rate_minor, 4))


def rate_on(rate_card: list, role: str, work_date: str) -> int | None:
    """The rate of the entry for ``role`` with the latest effective date on or before ``work_date``."""
    best: tuple[str, int] | None = None
    for entry in rate_card:
        eligible = entry.role == role and entry.effective_from <= work_date
        if eligible and (best is None or entry.effective_from >= best[0]):
            best = (entry.effective_from, entry.rate)
    return None if best is None else best[1]


@dataclass(frozen=True)
class Mismatch:
    rule: str
    item: str
    expected: Any
    actual: Any
    currency: str | None = None
    detail: str = ""

    @property
    def money_at_stake(self) -> int:
        if isinstance(self.expected, int) and isinstance(self.actual, int):
            return abs(self.expected - self.actual)
        return 0

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "item": self.item, "expected": self.expected, "actual": self.actual,
                "currency": self.currency, "detail": self.detail}

    def __str__(self) -> str:
        money = f" {self.currency}" if self.currency else ""
        return f"[{self.rule}] {self.item}: expected {self.expected}{money}, ERP has {self.actual}. {self.detail}".strip()


@dataclass
class ExpectedCharge:
    item: str  # e.g. "psa:timesheet_line/tsl_000012"
    contract_id: str
    currency: str
    amount: int
    work_date: str


@dataclass
class Reconciliation:
    items_checked: int = 0
    approved_billable_lines: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    leakage: Counter = field(default_factory=Counter)  # currency -> minor units under-billed
    over_billing: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_json(self, examples: int = 20) -> dict[str, Any]:
        by_rule = Counter(m.rule for m in self.mismatches)
        return {
            "items_checked": self.items_checked,
            "approved_billable_lines": self.approved_billable_lines,
            "mismatches": len(self.mismatches),
            "mismatches_by_rule": dict(sorted(by_rule.items())),
            "examples": [m.to_json() for m in self.mismatches[:examples]],
        }


def line_item(line_id: str) -> str:
    return f"psa:timesheet_line/{line_id}"


def expected_charges(systems: Systems) -> dict[str, ExpectedCharge]:
    """Every timesheet line's expected net charge, zero where nothing should be billed."""
    psa, clm = systems.psa, systems.clm
    expected: dict[str, ExpectedCharge] = {}
    for timesheet in psa.timesheets.values():
        for line in timesheet.lines:
            contract = clm.contracts[psa.projects[line.project_id].contract_ref]
            amount = 0
            if timesheet.status == "approved" and line.billable:
                rate = rate_on(contract.terms.rate_card, line.role, line.date)
                amount = labour_amount(line.hours, rate) if rate is not None else 0
            expected[line_item(line.id)] = ExpectedCharge(line_item(line.id), contract.id, contract.currency,
                                                          amount, line.date)
    return expected


def _charge_item(lineage: dict[str, Any]) -> str | None:
    if lineage.get("source_type") == "timesheet_line" and lineage.get("source_id"):
        return line_item(lineage["source_id"])
    return None


def reconcile(systems: Systems) -> Reconciliation:
    result = Reconciliation()
    erp, psa = systems.erp, systems.psa
    expected = expected_charges(systems)
    result.items_checked = len(expected)
    result.approved_billable_lines = sum(
        1 for ts in psa.timesheets.values() if ts.status == "approved" for line in ts.lines if line.billable
    )
    actual: dict[str, int] = defaultdict(int)
    projects_of_item: dict[str, set[str]] = defaultdict(set)
    for charge in erp.charges.values():
        item = _charge_item(charge.lineage)
        if item is None or item not in expected:
            result.mismatches.append(Mismatch("orphan_charge", f"erp:charge/{charge.id}", 0, charge.amount,
                                              charge.currency, f"lineage {charge.lineage!r} names no source item"))
            continue
        actual[item] += charge.amount
        projects_of_item[item].add(erp.billing_projects[charge.billing_project_id].contract_ref)
    for item, want in expected.items():
        got = actual.get(item, 0)
        if got != want.amount:
            result.mismatches.append(Mismatch("net_charge", item, want.amount, got, want.currency,
                                              f"contract {want.contract_id}, work date {want.work_date}"))
            if got < want.amount:
                result.leakage[want.currency] += want.amount - got
            else:
                result.over_billing[want.currency] += got - want.amount
        wrong = projects_of_item.get(item, set()) - {want.contract_id}
        if wrong:
            result.mismatches.append(Mismatch("billing_project", item, want.contract_id, sorted(wrong), None,
                                              "charged to a billing project of another contract"))
    _check_invoices(systems, result)
    _check_master_data(systems, result)
    return result


def _check_invoices(systems: Systems, result: Reconciliation) -> None:
    erp = systems.erp
    numbers: dict[str, list[int]] = defaultdict(list)
    for invoice in erp.invoices.values():
        customer = erp.customers[invoice.customer_id]
        rate = Fraction(erp.tax_rates[customer.tax_jurisdiction])
        for line in invoice.lines:
            want_tax = half_up(line["amount"] * rate)
            if line["tax"] != want_tax:
                result.mismatches.append(Mismatch("invoice_tax", f"erp:invoice/{invoice.id}/{line['charge_id']}",
                                                  want_tax, line["tax"], invoice.currency))
        want_total = sum(li["amount"] for li in invoice.lines) + sum(li["tax"] for li in invoice.lines)
        if invoice.total != want_total:
            result.mismatches.append(Mismatch("invoice_total", f"erp:invoice/{invoice.id}", want_total,
                                              invoice.total, invoice.currency))
        if invoice.status == "posted":
            prefix = erp.legal_entities[invoice.legal_entity].invoice_prefix
            if invoice.number is None or not invoice.number.startswith(prefix + "-"):
                result.mismatches.append(Mismatch("invoice_number", f"erp:invoice/{invoice.id}",
                                                  f"{prefix}-NNNNNN", invoice.number))
            else:
                numbers[invoice.legal_entity].append(int(invoice.number.rsplit("-", 1)[1]))
    for entity, seen in numbers.items():
        if sorted(seen) != list(range(1, len(seen) + 1)):
            missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
            dupes = sorted(n for n, c in Counter(seen).items() if c > 1)
            result.mismatches.append(Mismatch("gapless_numbering", f"erp:legal_entity/{entity}",
                                              "1..N without gaps", f"missing {missing[:5]}, duplicated {dupes[:5]}"))


def _check_master_data(systems: Systems, result: Reconciliation) -> None:
    erp, clm = systems.erp, systems.clm
    customers = Counter(c.external_ref for c in erp.customers.values())
    for account_id, count in customers.items():
        if count > 1:
            result.mismatches.append(Mismatch("duplicate_customer", f"crm:account/{account_id}", 1, count))
    projects = Counter(p.contract_ref for p in erp.billing_projects.values())
    for contract_id, count in projects.items():
        if count > 1:
            result.mismatches.append(Mismatch("duplicate_billing_project", f"clm:contract/{contract_id}", 1, count))
    for contract in clm.contracts.values():
        if contract.status == "signed" and contract.account_id not in customers:
            result.mismatches.append(Mismatch("missing_customer", f"crm:account/{contract.account_id}", 1, 0,
                                              detail=f"signed contract {contract.id} has no ERP customer"))


def wip_at(systems: Systems, day: dt.date) -> dict[str, int]:
    """Unbilled WIP at the end of ``day``: billable work entered and not yet on a posted invoice."""
    psa, clm, erp = systems.psa, systems.clm, systems.erp
    invoiced: set[str] = set()
    for charge in erp.charges.values():
        if charge.invoice_id and erp.invoices[charge.invoice_id].status == "posted":
            item = _charge_item(charge.lineage)
            if item:
                invoiced.add(item)
    cutoff = day.isoformat()
    wip: Counter = Counter()
    for timesheet in psa.timesheets.values():
        if timesheet.status not in ("submitted", "approved"):
            continue
        for line in timesheet.lines:
            if line.billable and line.date <= cutoff and line_item(line.id) not in invoiced:
                contract = clm.contracts[psa.projects[line.project_id].contract_ref]
                rate = rate_on(contract.terms.rate_card, line.role, line.date)
                if rate is not None:
                    wip[contract.currency] += labour_amount(line.hours, rate)
    return dict(sorted(wip.items()))
