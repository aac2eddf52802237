"""What source items are worth under the billing rules, computed from the mock systems' current state.

Used by the oracle (after a run, on the final state), by simulated
customers (when an invoice arrives) and by the WIP snapshots (at each
month end). Its arithmetic is its own: hours become whole quarter hours
and money stays in integers and fractions, so it shares no rating or
rounding code with any connector (nor with the ERP's tax code).

Source items are named ``system:kind/id``: ``psa:timesheet_line/tsl_…``,
``psa:expense/exp_…``, ``psa:milestone/mst_…`` and
``clm:retainer_period/ctr_…/YYYY-MM``. A connector's charge names its item
through its lineage (``source_system``, ``source_type``, ``source_id``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from mocks.systems import Systems
from simulator.truth import GroundTruth

NO_APPROVALS: Mapping[str, int] = MappingProxyType({})  # an item nobody approved: one shared, read-only mapping


def half_up(value: Fraction) -> int:
    """Round half away from zero to an integer (half-up on magnitudes, as accountants do)."""
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def labour_amount(hours: Decimal, rate_minor: int) -> int:
    """Whole quarter hours at ``rate_minor`` per hour, half-up: ``half_up(quarters x rate / 4)`` in integers (the
    oracle values every line of a run at each month end and at the end: Fraction arithmetic was most of that)."""
    quarters = int(hours * 4)
    if quarters != hours * 4:
        raise ValueError(f"{hours} hours is not a whole number of quarter hours")
    minor_quarters = quarters * rate_minor  # the amount in quarters of a minor unit
    magnitude = (abs(minor_quarters) * 2 + 4) // 8
    return magnitude if minor_quarters >= 0 else -magnitude


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


@dataclass(slots=True)
class SourceItem:
    """One billable thing in the source systems and what it is worth now (slotted: the oracle holds one per
    source item of the run at once)."""

    item: str
    kind: str
    contract_id: str
    currency: str
    amount: int
    date: str
    version: int
    approvals: Mapping[str, int] = field(default_factory=lambda: NO_APPROVALS)  # approval id -> the source version it approved
    current_approval: str | None = None  # the approval of the final version, if that version is approved
    settled_at: str | None = None  # when the item took its final value: its last approval or amendment (ISO)
    recorded: bool = True  # False: the firm delivered it but the PSA holds no record of it (the connector's job)
    # The first day a charge for it may be dated, when that is before ``date``: a milestone accepted ahead of its
    # planned date may be charged on the day of its acceptance.
    earliest: str | None = None
    # The days a charge for it made in time for its due run may carry (empty: any in its period): a line's work
    # date, an expense's date, a milestone's planned date or the day the client accepted it.
    dated_on: tuple[str, ...] = ()


def line_rate(terms, line) -> int | None:
    """The rate ``terms`` give a line's role on its work date (None where they give none)."""
    return rate_on(terms.rate_card, line.role, line.date)


def line_worth(terms, line) -> int:
    """A billable line's hours at the rate ``terms`` give its role on its work date (0 where they give none)."""
    rate = line_rate(terms, line)
    return labour_amount(line.hours, rate) if rate is not None else 0


def _later(*stamps: str | None) -> str | None:
    present = [s for s in stamps if s]
    return max(present) if present else None


def _earlier(date: str, *stamps: str | None) -> str | None:
    """The earliest day of ``stamps`` (ISO dates or times) when it comes before ``date``, else None."""
    days = [stamp[:10] for stamp in stamps if stamp and stamp[:10] < date]
    return min(days) if days else None


class SettledAt(dict):
    """Contract id -> when its final version was signed (the contract's signature, or its last signed amendment's),
    worked out for a contract when first asked: a customer checking one invoice asks about one contract, not the
    firm's every one. Read it in the same instant it was made (as every Valuer is used), so the contracts it reads
    are the ones of that instant."""

    def __init__(self, clm) -> None:
        super().__init__()
        self._clm = clm
        self._amended: dict[str, list[str]] | None = None  # contract id -> its amendments' signatures

    def __missing__(self, contract_id: str) -> str | None:
        if self._amended is None:
            self._amended = defaultdict(list)
            for amendment in self._clm.amendments.values():
                if amendment.signed_at:
                    self._amended[amendment.contract_id].append(amendment.signed_at)
        settled = _later(self._clm.contracts[contract_id].signed_at, *self._amended.get(contract_id, ()))
        self[contract_id] = settled
        return settled


# -- what each item is worth -------------------------------------------------------------


class Valuer:
    """Values source items against the systems' current state (the final state, after a run).

    Which contract a piece of work belongs to, and which milestones a
    contract's client accepted, come from the firm's own book
    (:class:`~simulator.truth.GroundTruth`), never from the records a
    connector created: a PSA project whose ``contract_ref`` is wrong, or a
    milestone the connector never created, cannot narrow what is expected.
    """

    def __init__(self, systems: Systems, truth: GroundTruth, with_approvals: bool = True) -> None:
        self.systems = systems
        self.truth = truth
        approvals: dict[str, dict[str, int]] = defaultdict(dict)
        if with_approvals:  # only lineage checks need them; a customer reading an invoice does not
            for approval in systems.psa.approvals:
                approvals[approval["entity_id"]][approval["approval_id"]] = approval["version"]
        self.approvals = approvals
        # contract -> when its final version was signed: nothing the contract prices is final before then
        self.settled = SettledAt(systems.clm)

    def contract_of_project(self, project_id: str):
        """The contract the project's team delivers (the firm's book), or None for a project nobody staffed."""
        contract_id = self.truth.contract_of(project_id)
        return None if contract_id is None else self.systems.clm.contracts[contract_id]

    def line(self, line_id: str) -> SourceItem | None:
        timesheet, line = self.systems.psa.lines[line_id]
        contract = self.contract_of_project(line.project_id)
        if contract is None:
            return None
        current = any(x.id == line_id for x in timesheet.lines)  # an adjustment may have removed it
        amount = 0
        approved = current and timesheet.status == "approved"
        if approved and line.billable:
            amount = line_worth(contract.terms, line)
        # A line an adjustment removed is worth nothing from that correction on: final once the corrected sheet is
        # approved again (or, until then, from the correction itself).
        removed_at = None if current else timesheet.approved_at or timesheet.submitted_at
        return SourceItem(f"psa:timesheet_line/{line_id}", "timesheet_line", contract.id, contract.currency, amount,
                          line.date, timesheet.version, self.approvals.get(timesheet.id, NO_APPROVALS),
                          timesheet.approval_id if approved else None,
                          _later(timesheet.approved_at if approved else removed_at, self.settled[contract.id]),
                          dated_on=(line.date,))

    def expense(self, expense_id: str) -> SourceItem | None:
        expense = self.systems.psa.expenses[expense_id]
        contract = self.contract_of_project(expense.project_id)
        if contract is None:
            return None
        amount = 0
        if expense.status == "approved" and expense.billable:
            amount = expense_amount(expense.cost, contract.terms.expense_markup_pct)
        return SourceItem(f"psa:expense/{expense_id}", "expense", contract.id, contract.currency, amount,
                          expense.date, expense.version, self.approvals.get(expense_id, NO_APPROVALS), expense.approval_id,
                          _later(expense.approved_at, self.settled[contract.id]), dated_on=(expense.date,))

    def hours_and_rate(self, want: SourceItem) -> tuple[Decimal, int | None]:
        """A timesheet line's hours, and the rate its contract's final terms give its role on its work date."""
        line = self.systems.psa.lines[want.item.partition("/")[2]][1]
        return line.hours, line_rate(self.systems.clm.contracts[want.contract_id].terms, line)

    def worth_under(self, want: SourceItem, version: int) -> int | None:
        """What ``want``, an item with a final value, would be worth were ``version`` its contract's final version
        (that version's rates, markup, milestone amounts and fee); None when the CLM keeps no such version."""
        terms = self.systems.clm.contracts[want.contract_id].terms_at(version)
        if terms is None:
            return None
        ident = want.item.partition("/")[2]
        if want.kind == "timesheet_line":
            return line_worth(terms, self.systems.psa.lines[ident][1])
        if want.kind == "expense":
            return expense_amount(self.systems.psa.expenses[ident].cost, terms.expense_markup_pct)
        if want.kind == "milestone":
            ref = self.systems.psa.milestones[ident].ref
            return next((m.amount for m in terms.milestones if m.ref == ref), 0)
        if want.kind == "retainer_period":
            return terms.retainer_fee or 0
        return None

    def _milestone_term(self, contract, ref: str):
        return next((m for m in contract.terms.milestones if m.ref == ref), None)

    def milestone(self, milestone_id: str) -> SourceItem | None:
        """A PSA milestone: worth its amount in the final contract version once the client accepted it."""
        milestone = self.systems.psa.milestones[milestone_id]
        contract = self.contract_of_project(milestone.project_id)
        if contract is None:
            return None
        term = self._milestone_term(contract, milestone.ref)
        accepted = self.truth.milestones_accepted.get((contract.id, milestone.ref))
        first = self._recorded_milestones(contract.id).get(milestone.ref) == milestone_id
        amount = term.amount if term is not None and accepted and first else 0
        # Its date is the contract's, never the one the connector wrote into the PSA record (only a milestone the
        # contract does not name, worth nothing, has no other).
        planned = term.planned_date if term is not None else milestone.planned_date
        return SourceItem(f"psa:milestone/{milestone_id}", "milestone", contract.id, contract.currency, amount,
                          planned, milestone.version, self.approvals.get(milestone_id, NO_APPROVALS),
                          milestone.approval_id, _later(accepted, self.settled[contract.id]),
                          earliest=_earlier(planned, accepted, milestone.approved_at),
                          dated_on=tuple(dict.fromkeys(d[:10] for d in (planned, accepted, milestone.approved_at) if d)))

    def _recorded_milestones(self, contract_id: str) -> dict[str, str]:
        """ref -> the PSA milestone that records it (the first, by id, on the contract's projects)."""
        projects = set(self.truth.projects_of(contract_id))
        found: dict[str, str] = {}
        for milestone in sorted(self.systems.psa.milestones.values(), key=lambda m: m.id):
            if milestone.project_id in projects:
                found.setdefault(milestone.ref, milestone.id)
        return found

    def unrecorded_milestones(self) -> list[SourceItem]:
        """Milestones the client accepted that the PSA has no record of: the firm's truth, the connector's gap."""
        items = []
        for (contract_id, ref), accepted in sorted(self.truth.milestones_accepted.items()):
            if ref in self._recorded_milestones(contract_id):
                continue
            contract = self.systems.clm.contracts[contract_id]
            term = self._milestone_term(contract, ref)
            items.append(SourceItem(f"clm:milestone/{contract_id}/{ref}", "milestone", contract_id, contract.currency,
                                    term.amount if term is not None else 0, term.planned_date if term else accepted[:10],
                                    contract.version, settled_at=_later(accepted, self.settled[contract.id]),
                                    recorded=False))
        return items

    def retainer(self, contract_id: str, period: str) -> SourceItem:
        contract = self.systems.clm.contracts[contract_id]
        opened = period in self.systems.erp.periods_opened
        amount = contract.terms.retainer_fee if opened and in_term(contract.terms, period) else 0
        return SourceItem(f"clm:retainer_period/{contract_id}/{period}", "retainer_period", contract_id,
                          contract.currency, amount or 0, f"{period}-01", contract.version,
                          settled_at=_later(f"{period}-01T00:00:00Z", self.settled[contract.id]),
                          dated_on=(f"{period}-01",))

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

    def catalog(self) -> dict[str, ContractItems]:
        """Every source item there is, by the contract the firm's book puts it under: timesheet lines, expenses,
        PSA milestones, milestones the PSA does not record, retainer periods (of signed retainers, for every
        period the ERP opened). Contracts come in the order of their first item in that sequence.

        Only ids are held: :meth:`items_of` values one contract's items when asked, so the oracle never holds a
        valued item for every piece of work of the run at once.
        """
        psa, clm, erp = self.systems.psa, self.systems.clm, self.systems.erp
        contract_of = self.truth.contract_of
        catalog: dict[str, ContractItems] = {}

        def under(contract_id: str) -> ContractItems:
            items = catalog.get(contract_id)
            if items is None:
                items = catalog[contract_id] = ContractItems()
            return items

        for line_id, (_, line) in psa.lines.items():
            if (contract_id := contract_of(line.project_id)) is not None:
                under(contract_id).lines.append(line_id)
        for expense_id, expense in psa.expenses.items():
            if (contract_id := contract_of(expense.project_id)) is not None:
                under(contract_id).expenses.append(expense_id)
        for milestone_id, milestone in psa.milestones.items():
            if (contract_id := contract_of(milestone.project_id)) is not None:
                under(contract_id).milestones.append(milestone_id)
        for item in self.unrecorded_milestones():
            under(item.contract_id).unrecorded.append(item)
        for contract in clm.contracts.values():
            if contract.billing_type == "retainer" and contract.status == "signed" and erp.periods_opened:
                under(contract.id).periods.extend(erp.periods_opened)
        return catalog

    def items_of(self, contract_id: str, items: ContractItems) -> list[SourceItem]:
        """A contract's catalogued items, valued, in catalog order."""
        valued = [self.line(line_id) for line_id in items.lines]
        valued += [self.expense(expense_id) for expense_id in items.expenses]
        valued += [self.milestone(milestone_id) for milestone_id in items.milestones]
        valued += items.unrecorded
        valued += [self.retainer(contract_id, period) for period in items.periods]
        return [item for item in valued if item is not None]

    def contract_of_item(self, item: str, catalog: dict[str, ContractItems]) -> str | None:
        """The contract ``catalog`` lists the item named ``item`` under; None when it lists no such item."""
        kind, _, ident = item.partition("/")
        psa, contract_of = self.systems.psa, self.truth.contract_of
        if kind == "psa:timesheet_line":
            found = psa.lines.get(ident)
            return contract_of(found[1].project_id) if found is not None else None
        if kind == "psa:expense":
            expense = psa.expenses.get(ident)
            return contract_of(expense.project_id) if expense is not None else None
        if kind == "psa:milestone":
            milestone = psa.milestones.get(ident)
            return contract_of(milestone.project_id) if milestone is not None else None
        contract_id, _, rest = ident.partition("/")
        items = catalog.get(contract_id)
        if items is None:
            return None
        if kind == "clm:milestone" and any(unrecorded.item == item for unrecorded in items.unrecorded):
            return contract_id
        if kind == "clm:retainer_period" and rest in items.periods:
            return contract_id
        return None


@dataclass(slots=True)
class ContractItems:
    """One contract's source items in :meth:`Valuer.catalog`: ids (and periods) only, valued when asked."""

    lines: list[str] = field(default_factory=list)
    expenses: list[str] = field(default_factory=list)
    milestones: list[str] = field(default_factory=list)
    unrecorded: list[SourceItem] = field(default_factory=list)  # few, and valued already
    periods: list[str] = field(default_factory=list)  # retainer periods

    def __len__(self) -> int:
        return len(self.lines) + len(self.expenses) + len(self.milestones) + len(self.unrecorded) + len(self.periods)


def item_of(lineage: dict[str, Any]) -> str | None:
    system, kind, ident = lineage.get("source_system"), lineage.get("source_type"), lineage.get("source_id")
    if not (system and kind and ident):
        return None
    return f"{system}:{kind}/{ident}"


def wip_at(systems: Systems, truth: GroundTruth, day: dt.date) -> dict[str, dict[str, int]]:
    """Unbilled WIP at the end of ``day``: billable work entered and not yet on a posted invoice.

    Labour in submitted or approved timesheets and approved expenses, at
    the contract's rates, dated on or before ``day``, whose item has no
    charge on a posted invoice yet. On a capped contract only what still
    fits under the cap (cap less what was invoiced) is WIP; the rest can
    never be billed and is reported apart as ``held_over_cap``. Work is
    valued under the contract its team delivers (the firm's book), so a
    broken project reference in the PSA does not hide it.
    """
    psa, clm, erp = systems.psa, systems.clm, systems.erp
    invoiced: set[str] = set()
    invoiced_by_contract: Counter = Counter()
    posted = {invoice_id for invoice_id, invoice in erp.invoices.items() if invoice.status == "posted"}
    for charge in erp.charges.values():
        if charge.invoice_id in posted:
            item = item_of(charge.lineage)
            if item:
                invoiced.add(item)
            invoiced_by_contract[erp.billing_projects[charge.billing_project_id].contract_ref] += charge.amount
    invoiced_lines = {item.removeprefix("psa:timesheet_line/") for item in invoiced
                      if item.startswith("psa:timesheet_line/")}  # by line id: no item name made per line below
    cutoff = day.isoformat()
    unbilled: Counter = Counter()  # contract -> value of work not yet invoiced
    for timesheet in psa.timesheets.values():
        if timesheet.status not in ("submitted", "approved"):
            continue
        for line in timesheet.lines:
            if line.billable and line.date <= cutoff and line.id not in invoiced_lines:
                contract = clm.contracts.get(truth.contract_of(line.project_id) or "")
                if contract is None:
                    continue
                rate = rate_on(contract.terms.rate_card, line.role, line.date)
                if rate is not None:
                    unbilled[contract.id] += labour_amount(line.hours, rate)
    for expense in psa.expenses.values():
        if expense.status == "approved" and expense.billable and expense.date <= cutoff \
                and f"psa:expense/{expense.id}" not in invoiced:
            contract = clm.contracts.get(truth.contract_of(expense.project_id) or "")
            if contract is None:
                continue
            unbilled[contract.id] += expense_amount(expense.cost, contract.terms.expense_markup_pct)
    wip: Counter = Counter()
    held: Counter = Counter()
    for contract_id, value in sorted(unbilled.items()):
        contract = clm.contracts[contract_id]
        billable = value
        if contract.billing_type == "capped_tm" and contract.terms.cap is not None:
            billable = max(0, min(value, contract.terms.cap - invoiced_by_contract[contract_id]))
            held[contract.currency] += value - billable
        wip[contract.currency] += billable
    return {"by_currency": dict(sorted(wip.items())), "held_over_cap": dict(sorted(held.items()))}
