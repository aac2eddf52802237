"""The oracle: does the ERP hold what the final source state says it should?

It reads the mock systems' final state (never the connector's), values
every source item with :mod:`simulator.valuation` (DESIGN §6) and compares
the ERP's net charges with it item by item, then checks invoices, lineage,
master data and the billing write-back to the PSA. The verdict depends
only on final state, never on the order in which events arrived. Each
:class:`Mismatch` names the rule, the item, the expected and the actual
value, so a failure says what money is wrong and where.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from simulator.systems import Systems
from simulator.valuation import SourceItem, Valuer, half_up, item_of

BILLED = ("unbilled", "invoiced")  # charge states that count as billed; "released" ones live on in their parts
LINEAGE_KEYS = ("contract_id", "contract_version", "source_type", "source_id", "source_version")


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
            # the most money at stake first (a count that is off is no money); ties by rule, then item
            "examples": [m.to_json() for m in sorted(
                self.mismatches, key=lambda m: (-(m.money_at_stake if m.currency else 0), m.rule, m.item))[:examples]],
        }


# -- the checks -----------------------------------------------------------------------------


def reconcile(systems: Systems) -> Reconciliation:
    """Every check of DESIGN §6 on the systems' final state; an empty mismatch list means the ERP is right.

    ``items_checked`` counts every source item valued (zero-value ones too:
    a rejected line must have net charges of zero), so a run that checked
    nothing cannot pass for a clean one.
    """
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
    _check_billing_writeback(systems, result)
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
    """Capped T&M: which items end up held depends on arrival order, so per item only
    ``0 <= billed <= value`` and ``billed + held = value`` are required, and per contract
    ``billed = min(value, cap)``."""
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
    mistyped = [k for k in ("contract_version", "source_version")
                if lineage.get(k) is not None and (not isinstance(lineage[k], int) or isinstance(lineage[k], bool))]
    if want.kind != "retainer_period" and not lineage.get("approval_id"):
        missing.append("approval_id")
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if mistyped:
        problems.append(f"{', '.join(mistyped)} must be integers")
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
    """Tax per line, totals, lineage; and of posted documents: no negative invoice (a negative net is a credit
    note, whose total is negative), numbers in the series of their type, gapless per legal entity and series."""
    erp = systems.erp
    numbers: dict[tuple[str, str], list[int]] = defaultdict(list)
    series_of = {"invoice": "-", "credit_note": "-CN-"}  # after the legal entity's prefix: US01-000001, US01-CN-000001
    crm = systems.crm
    for invoice in erp.invoices.values():
        customer = erp.customers[invoice.customer_id]
        account = crm.accounts.get(customer.external_ref)
        # The rate of the customer's *CRM* jurisdiction: a customer synced with the wrong one must not pass.
        jurisdiction = account.tax_jurisdiction if account is not None else customer.tax_jurisdiction
        rate = Fraction(erp.tax_rates[jurisdiction])
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
        if invoice.status != "posted":
            continue
        kind = invoice.document_type
        if kind == "invoice" and invoice.total < 0:
            result.add(Mismatch("negative_invoice", f"erp:invoice/{invoice.id}", "a total >= 0", invoice.total,
                                invoice.currency, "a negative net is a credit note, never a negative invoice"))
        elif kind == "credit_note" and invoice.total >= 0:
            result.add(Mismatch("credit_note_total", f"erp:invoice/{invoice.id}", "a total < 0", invoice.total,
                                invoice.currency, "a credit note credits the customer; a net of zero or more is "
                                                  "an invoice"))
        series = erp.legal_entities[invoice.legal_entity].invoice_prefix + series_of.get(kind, f"-{kind}?-")
        digits = invoice.number[len(series):] if invoice.number and invoice.number.startswith(series) else ""
        if kind not in series_of or not (digits.isascii() and digits.isdigit()):
            result.add(Mismatch("invoice_number", f"erp:invoice/{invoice.id}", f"{series}NNNNNN", invoice.number,
                                detail=f"a posted {kind} numbered in its series"))
        else:
            numbers[(invoice.legal_entity, kind)].append(int(digits))
    for (entity, kind), seen in numbers.items():
        if sorted(seen) != list(range(1, len(seen) + 1)):
            missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
            dupes = sorted(n for n, c in Counter(seen).items() if c > 1)
            result.add(Mismatch("gapless_numbering", f"erp:legal_entity/{entity}", "1..N without gaps",
                                f"missing {missing[:5]}, duplicated {dupes[:5]}", detail=f"the {kind} series"))


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
                                ("tax_jurisdiction", account.tax_jurisdiction, customer.tax_jurisdiction),
                                ("currency", account.currency, customer.currency),
                                ("billing_address", account.billing_address, customer.billing_address)):
            if want != got:
                result.add(Mismatch("customer_master_data", f"crm:account/{account.id}", want, got,
                                    detail=f"ERP customer {customer.id} field {name} differs from the CRM"))
    projects = Counter(p.contract_ref for p in erp.billing_projects.values())
    for contract_id, count in projects.items():
        if count > 1:
            result.add(Mismatch("duplicate_billing_project", f"clm:contract/{contract_id}", 1, count))
    customer_of_account = {c.external_ref: c.id for c in erp.customers.values()}
    for project in erp.billing_projects.values():
        contract = clm.contracts.get(project.contract_ref)
        if contract is None:
            result.add(Mismatch("billing_project", f"erp:billing_project/{project.id}", "a CLM contract",
                                project.contract_ref))
            continue
        for name, want, got in (("customer", customer_of_account.get(contract.account_id), project.customer_id),
                                ("legal_entity", contract.legal_entity, project.legal_entity),
                                ("currency", contract.currency, project.currency),
                                ("payment_terms_days", contract.terms.payment_terms_days,
                                 project.payment_terms_days)):
            if want != got:
                result.add(Mismatch("billing_project", f"clm:contract/{contract.id}", want, got,
                                    detail=f"ERP billing project {project.id} field {name} differs from the contract"))
    for contract in clm.contracts.values():
        if contract.status != "signed":
            continue
        if contract.account_id not in customers:
            result.add(Mismatch("missing_customer", f"crm:account/{contract.account_id}", 1, 0,
                                detail=f"signed contract {contract.id} has no ERP customer"))
        if contract.id not in projects:
            result.add(Mismatch("missing_billing_project", f"clm:contract/{contract.id}", 1, 0,
                                detail="signed contract has no ERP billing project"))




def _check_billing_writeback(systems: Systems, result: Reconciliation) -> None:
    """Every PSA item billed on a posted invoice says so, citing one of the invoices that billed it."""
    erp, psa = systems.erp, systems.psa
    billed_on: dict[str, set[str]] = defaultdict(set)
    for invoice in erp.invoices.values():
        if invoice.status != "posted":
            continue
        for line in invoice.lines:
            lineage = line.get("lineage") or {}
            if line["amount"] > 0 and lineage.get("source_type") in ("timesheet_line", "expense", "milestone"):
                billed_on[(lineage["source_type"], lineage["source_id"])].add(invoice.number)
    for (kind, source_id), numbers in billed_on.items():
        if kind == "timesheet_line":
            found = psa.lines.get(source_id)
            entity = found[1] if found else None
        else:
            entity = (psa.expenses if kind == "expense" else psa.milestones).get(source_id)
        if entity is None:
            continue  # no such source item: reported as an orphan charge already
        if entity.billing_status != "billed" or entity.invoice_ref not in numbers:
            result.add(Mismatch("billing_writeback", f"psa:{kind}/{source_id}", sorted(numbers),
                                entity.invoice_ref, detail="the PSA does not show the invoice that billed it"))
