"""The oracle: what the ERP should hold, recomputed from the final source state.

It reads the mock systems' final state (never the connector's) and derives
each source item's expected net charge by DESIGN §6. Its arithmetic is its
own: hours become whole quarter hours and money stays in integers and
fractions, so it shares no rating or rounding code with any connector (nor
with the ERP's tax code). The verdict depends only on final state, never
on the order in which events arrived.

Source items are named ``system:kind/id``: ``psa:timesheet_line/tsl_…``,
``psa:expense/exp_…``, ``psa:milestone/mst_…`` and
``clm:retainer_period/ctr_…/YYYY-MM``. A connector's charge names its item
through its lineage (``source_system``, ``source_type``, ``source_id``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from simulator.systems import Systems

BILLED = ("unbilled", "invoiced")  # charge states that count as billed; "released" ones live on in their parts
LINEAGE_KEYS = ("contract_id", "contract_version", "source_type", "source_id", "source_version")


def half_up(value: Fraction) -> int:
    """Round half away from zero to an integer (half-up on magnitudes, as accountants do)."""
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def labour_amount(hours: Decimal, rate_minor: int) -> int:
    quarters = Fraction(hours) * 4
    if quarters.denominator != 1:
        raise ValueError(f"{hours} hours is not a whole number of quarter hours")
    return half_up(Fraction(int(quarters) * rate_minor, 4))


def expense_amount(cost_minor: int, markup_pct: str) -> int:
    return half_up(Fraction(cost_minor) * (1 + Fraction(markup_pct) / 100))


def rate_on(rate_card: list, role: str, work_date: str) -> int | None:
    """The rate of the entry for ``role`` with the latest effective date on or before ``work_date``."""
    best: tuple[str, int] | None = None
    for entry in rate_card:
        eligible = entry.role == role and entry.effective_from <= work_date
        if eligible and (best is None or entry.effective_from >= best[0]):
            best = (entry.effective_from, entry.rate)
    return None if best is None else best[1]


def in_term(terms, period: str) -> bool:
    return terms.start_date[:7] <= period <= terms.end_date[:7]


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
class SourceItem:
    """One billable thing in the source systems and what it is worth now."""

    item: str
    kind: str
    contract_id: str
    currency: str
    amount: int
    date: str
    version: int
    approvals: dict[str, int] = field(default_factory=dict)  # approval id -> the source version it approved
    current_approval: str | None = None  # the approval of the final version, if that version is approved


@dataclass
class Reconciliation:
    items_checked: int = 0
    approved_billable_lines: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    leakage: Counter = field(default_factory=Counter)  # currency -> minor units under-billed
    over_billing: Counter = field(default_factory=Counter)
    held: Counter = field(default_factory=Counter)  # currency -> minor units held over caps

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def add(self, mismatch: Mismatch) -> None:
        self.mismatches.append(mismatch)

    def to_json(self, examples: int = 20) -> dict[str, Any]:
        by_rule = Counter(m.rule for m in self.mismatches)
        return {
            "items_checked": self.items_checked,
            "approved_billable_lines": self.approved_billable_lines,
            "mismatches": len(self.mismatches),
            "mismatches_by_rule": dict(sorted(by_rule.items())),
            "examples": [m.to_json() for m in self.mismatches[:examples]],
        }


# -- what each item is worth -------------------------------------------------------------


class Valuer:
    """Values source items against the systems' current state (the final state, after a run)."""

    def __init__(self, systems: Systems, with_approvals: bool = True) -> None:
        self.systems = systems
        approvals: dict[str, dict[str, int]] = defaultdict(dict)
        if with_approvals:  # only lineage checks need them; a customer reading an invoice does not
            for approval in systems.psa.approvals:
                approvals[approval["entity_id"]][approval["approval_id"]] = approval["version"]
        self.approvals = approvals

    def _contract_of_project(self, project_id: str):
        psa, clm = self.systems.psa, self.systems.clm
        return clm.contracts[psa.projects[project_id].contract_ref]

    def line(self, line_id: str) -> SourceItem:
        timesheet, line = self.systems.psa.lines[line_id]
        contract = self._contract_of_project(line.project_id)
        current = any(x.id == line_id for x in timesheet.lines)  # an adjustment may have removed it
        amount = 0
        if current and timesheet.status == "approved" and line.billable:
            rate = rate_on(contract.terms.rate_card, line.role, line.date)
            amount = labour_amount(line.hours, rate) if rate is not None else 0
        return SourceItem(f"psa:timesheet_line/{line_id}", "timesheet_line", contract.id, contract.currency, amount,
                          line.date, timesheet.version, self.approvals.get(timesheet.id, {}),
                          timesheet.approval_id if current and timesheet.status == "approved" else None)

    def expense(self, expense_id: str) -> SourceItem:
        expense = self.systems.psa.expenses[expense_id]
        contract = self._contract_of_project(expense.project_id)
        amount = 0
        if expense.status == "approved" and expense.billable:
            amount = expense_amount(expense.cost, contract.terms.expense_markup_pct)
        return SourceItem(f"psa:expense/{expense_id}", "expense", contract.id, contract.currency, amount,
                          expense.date, expense.version, self.approvals.get(expense_id, {}), expense.approval_id)

    def milestone(self, milestone_id: str) -> SourceItem:
        milestone = self.systems.psa.milestones[milestone_id]
        contract = self._contract_of_project(milestone.project_id)
        amount = 0
        if milestone.status == "approved":
            amount = next((m.amount for m in contract.terms.milestones if m.ref == milestone.ref), 0)
        return SourceItem(f"psa:milestone/{milestone_id}", "milestone", contract.id, contract.currency, amount,
                          milestone.planned_date, milestone.version, self.approvals.get(milestone_id, {}),
                          milestone.approval_id)

    def retainer(self, contract_id: str, period: str) -> SourceItem:
        contract = self.systems.clm.contracts[contract_id]
        opened = period in self.systems.erp.periods_opened
        amount = contract.terms.retainer_fee if opened and in_term(contract.terms, period) else 0
        return SourceItem(f"clm:retainer_period/{contract_id}/{period}", "retainer_period", contract_id,
                          contract.currency, amount or 0, f"{period}-01", contract.version)

    def value(self, item: str) -> SourceItem | None:
        """The item a lineage names, or None when no such source item exists."""
        system_kind, _, ident = item.partition("/")
        try:
            if system_kind == "psa:timesheet_line":
                return self.line(ident)
            if system_kind == "psa:expense":
                return self.expense(ident)
            if system_kind == "psa:milestone":
                return self.milestone(ident)
            if system_kind == "clm:retainer_period":
                contract_id, _, period = ident.partition("/")
                if self.systems.clm.contracts[contract_id].billing_type != "retainer":
                    return None
                return self.retainer(contract_id, period)
        except KeyError:
            return None
        return None

    def all_items(self) -> dict[str, SourceItem]:
        psa, clm, erp = self.systems.psa, self.systems.clm, self.systems.erp
        items = [self.line(line_id) for line_id in psa.lines]
        items += [self.expense(e) for e in psa.expenses]
        items += [self.milestone(m) for m in psa.milestones]
        for contract in clm.contracts.values():
            if contract.billing_type == "retainer" and contract.status == "signed":
                items += [self.retainer(contract.id, period) for period in erp.periods_opened]
        return {i.item: i for i in items}


def item_of(lineage: dict[str, Any]) -> str | None:
    system, kind, ident = lineage.get("source_system"), lineage.get("source_type"), lineage.get("source_id")
    if not (system and kind and ident):
        return None
    return f"{system}:{kind}/{ident}"


# -- the checks -----------------------------------------------------------------------------


def reconcile(systems: Systems) -> Reconciliation:
    result = Reconciliation()
    erp, psa, clm = systems.erp, systems.psa, systems.clm
    valuer = Valuer(systems)
    expected = valuer.all_items()
    result.items_checked = len(expected)
    result.approved_billable_lines = sum(
        1 for ts in psa.timesheets.values() if ts.status == "approved" for line in ts.lines if line.billable
    )
    billed: dict[str, int] = defaultdict(int)
    held: dict[str, int] = defaultdict(int)
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    for charge in erp.charges.values():
        item = item_of(charge.lineage)
        if item is None or item not in expected:
            result.add(Mismatch("orphan_charge", f"erp:charge/{charge.id}", 0, charge.amount, charge.currency,
                                f"lineage {charge.lineage!r} names no source item"))
            continue
        want = expected[item]
        _check_lineage(result, charge, want, clm.contracts[want.contract_id].version)
        if erp.billing_projects[charge.billing_project_id].contract_ref != want.contract_id:
            result.add(Mismatch("billing_project", item, want.contract_id,
                                erp.billing_projects[charge.billing_project_id].contract_ref,
                                detail=f"charge {charge.id} sits on another contract's billing project"))
        if charge.status in BILLED:
            billed[item] += charge.amount
        elif charge.status == "held":
            held[item] += charge.amount
        still_open = charge.status != "released" and not charge.reversal_of and charge.id not in reversed_ids
        cited = charge.lineage.get("approval_id")
        if still_open and want.amount and want.current_approval and cited and cited != want.current_approval:
            result.add(Mismatch("lineage", f"erp:charge/{charge.id}", want.current_approval, cited,
                                detail=f"for {item}: an open charge must cite the approval of the final version"))

    by_contract: dict[str, list[SourceItem]] = defaultdict(list)
    for want in expected.values():
        by_contract[want.contract_id].append(want)
    for contract_id, items in by_contract.items():
        contract = clm.contracts[contract_id]
        if contract.billing_type == "capped_tm" and contract.terms.cap is not None:
            _check_capped(result, contract, items, billed, held)
        else:
            for want in items:
                _check_item(result, want, billed.get(want.item, 0), held.get(want.item, 0))
    _check_invoices(systems, result)
    _check_master_data(systems, result)
    return result


def _check_item(result: Reconciliation, want: SourceItem, got: int, held: int) -> None:
    if got != want.amount or held:
        detail = f"contract {want.contract_id}, {want.kind} dated {want.date}"
        if held:
            detail += f"; {held} held on a contract without a cap"
        result.add(Mismatch("net_charge", want.item, want.amount, got, want.currency, detail))
        if got < want.amount:
            result.leakage[want.currency] += want.amount - got
        elif got > want.amount:
            result.over_billing[want.currency] += got - want.amount


def _check_capped(result: Reconciliation, contract, items: list[SourceItem], billed: dict[str, int],
                  held: dict[str, int]) -> None:
    cap = contract.terms.cap
    value = sum(i.amount for i in items)
    total = sum(billed.get(i.item, 0) for i in items)
    for want in items:
        got, parked = billed.get(want.item, 0), held.get(want.item, 0)
        if not (0 <= got <= want.amount) or got + parked != want.amount:
            result.add(Mismatch("capped_item", want.item, want.amount, {"billed": got, "held": parked},
                                want.currency, f"capped contract {contract.id}: need 0 <= billed <= expected "
                                               f"and billed + held = expected"))
    if total != min(value, cap):
        result.add(Mismatch("cap", f"clm:contract/{contract.id}", min(value, cap), total, contract.currency,
                            f"approved value {value}, cap {cap}: billed must be min(value, cap)"))
        if total > min(value, cap):
            result.over_billing[contract.currency] += total - min(value, cap)
        else:
            result.leakage[contract.currency] += min(value, cap) - total
    result.held[contract.currency] += sum(held.get(i.item, 0) for i in items)


def _check_lineage(result: Reconciliation, charge, want: SourceItem, contract_version: int) -> None:
    lineage = charge.lineage
    missing = [k for k in LINEAGE_KEYS if lineage.get(k) in (None, "")]
    if want.kind != "retainer_period" and not lineage.get("approval_id"):
        missing.append("approval_id")
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if lineage.get("contract_id") not in (None, want.contract_id):
        problems.append(f"contract_id {lineage['contract_id']} is not {want.contract_id}")
    version = lineage.get("contract_version")
    if isinstance(version, int) and not 1 <= version <= contract_version:
        problems.append(f"contract_version {version} does not exist (latest {contract_version})")
    source_version = lineage.get("source_version")
    if isinstance(source_version, int) and source_version > want.version:
        problems.append(f"source_version {source_version} is newer than the source ({want.version})")
    approval = lineage.get("approval_id")
    if approval and want.kind != "retainer_period":
        if approval not in want.approvals:
            problems.append(f"approval {approval} never approved this item")
        elif isinstance(source_version, int) and want.approvals[approval] != source_version:
            problems.append(f"approval {approval} approved version {want.approvals[approval]}, "
                            f"not source_version {source_version}")
    if problems:
        result.add(Mismatch("lineage", f"erp:charge/{charge.id}", "complete, consistent lineage",
                            "; ".join(problems), detail=f"for {want.item}"))


def _check_invoices(systems: Systems, result: Reconciliation) -> None:
    erp = systems.erp
    numbers: dict[str, list[int]] = defaultdict(list)
    for invoice in erp.invoices.values():
        customer = erp.customers[invoice.customer_id]
        rate = Fraction(erp.tax_rates[customer.tax_jurisdiction])
        for line in invoice.lines:
            want_tax = half_up(line["amount"] * rate)
            if line["tax"] != want_tax:
                result.add(Mismatch("invoice_tax", f"erp:invoice/{invoice.id}/{line['charge_id']}",
                                    want_tax, line["tax"], invoice.currency))
            if item_of(line.get("lineage") or {}) is None:
                result.add(Mismatch("lineage", f"erp:invoice/{invoice.id}/{line['charge_id']}",
                                    "a source item", line.get("lineage"), detail="invoice line without lineage"))
        want_total = sum(li["amount"] for li in invoice.lines) + sum(li["tax"] for li in invoice.lines)
        if invoice.total != want_total:
            result.add(Mismatch("invoice_total", f"erp:invoice/{invoice.id}", want_total, invoice.total,
                                invoice.currency))
        if invoice.status == "posted":
            prefix = erp.legal_entities[invoice.legal_entity].invoice_prefix
            if invoice.number is None or not invoice.number.startswith(prefix + "-"):
                result.add(Mismatch("invoice_number", f"erp:invoice/{invoice.id}", f"{prefix}-NNNNNN",
                                    invoice.number))
            else:
                numbers[invoice.legal_entity].append(int(invoice.number.rsplit("-", 1)[1]))
    for entity, seen in numbers.items():
        if sorted(seen) != list(range(1, len(seen) + 1)):
            missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
            dupes = sorted(n for n, c in Counter(seen).items() if c > 1)
            result.add(Mismatch("gapless_numbering", f"erp:legal_entity/{entity}", "1..N without gaps",
                                f"missing {missing[:5]}, duplicated {dupes[:5]}"))


def _check_master_data(systems: Systems, result: Reconciliation) -> None:
    erp, clm, crm = systems.erp, systems.clm, systems.crm
    customers = Counter(c.external_ref for c in erp.customers.values())
    for account_id, count in customers.items():
        if count > 1:
            result.add(Mismatch("duplicate_customer", f"crm:account/{account_id}", 1, count))
    for customer in erp.customers.values():
        account = crm.accounts.get(customer.external_ref)
        if account is None:
            result.add(Mismatch("customer_master_data", f"erp:customer/{customer.id}", "a CRM account",
                                customer.external_ref))
            continue
        for name, want, got in (("legal_name", account.legal_name, customer.legal_name),
                                ("tax_id", account.tax_id, customer.tax_id),
                                ("billing_address", account.billing_address, customer.billing_address)):
            if want != got:
                result.add(Mismatch("customer_master_data", f"crm:account/{account.id}", want, got,
                                    detail=f"ERP customer {customer.id} field {name} differs from the CRM"))
    projects = Counter(p.contract_ref for p in erp.billing_projects.values())
    for contract_id, count in projects.items():
        if count > 1:
            result.add(Mismatch("duplicate_billing_project", f"clm:contract/{contract_id}", 1, count))
    for contract in clm.contracts.values():
        if contract.status != "signed":
            continue
        if contract.account_id not in customers:
            result.add(Mismatch("missing_customer", f"crm:account/{contract.account_id}", 1, 0,
                                detail=f"signed contract {contract.id} has no ERP customer"))
        if contract.id not in projects:
            result.add(Mismatch("missing_billing_project", f"clm:contract/{contract.id}", 1, 0,
                                detail="signed contract has no ERP billing project"))


def wip_at(systems: Systems, day: dt.date) -> dict[str, int]:
    """Unbilled WIP at the end of ``day``: billable work entered and not yet on a posted invoice.

    Labour in submitted or approved timesheets and approved expenses, at
    the contract's rates, dated on or before ``day``, whose item has no
    charge on a posted invoice yet.
    """
    psa, clm, erp = systems.psa, systems.clm, systems.erp
    invoiced: set[str] = set()
    for charge in erp.charges.values():
        if charge.invoice_id and erp.invoices[charge.invoice_id].status == "posted":
            item = item_of(charge.lineage)
            if item:
                invoiced.add(item)
    cutoff = day.isoformat()
    wip: Counter = Counter()
    for timesheet in psa.timesheets.values():
        if timesheet.status not in ("submitted", "approved"):
            continue
        for line in timesheet.lines:
            if line.billable and line.date <= cutoff and f"psa:timesheet_line/{line.id}" not in invoiced:
                contract = clm.contracts[psa.projects[line.project_id].contract_ref]
                rate = rate_on(contract.terms.rate_card, line.role, line.date)
                if rate is not None:
                    wip[contract.currency] += labour_amount(line.hours, rate)
    for expense in psa.expenses.values():
        if expense.status == "approved" and expense.billable and expense.date <= cutoff \
                and f"psa:expense/{expense.id}" not in invoiced:
            contract = clm.contracts[psa.projects[expense.project_id].contract_ref]
            wip[contract.currency] += expense_amount(expense.cost, contract.terms.expense_markup_pct)
    return dict(sorted(wip.items()))
