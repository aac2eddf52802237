"""The oracle: does the ERP hold what the final source state says it should?

It reads the mock systems' final state (never the connector's), values
every source item with :mod:`simulator.valuation` and compares
the ERP's net charges with it item by item, then checks invoices, lineage,
charge dates and the hours and rate a labour charge shows, master data,
the PSA records the connector creates and the billing write-back to the
PSA. The verdict depends
only on final state, never on the order in which events arrived. Each
:class:`Mismatch` names the rule, the item, the expected and the actual
value, so a failure says what money is wrong and where.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import chain
from typing import Any

from mocks.erp.responses import CUSTOMER_NAME_MAX
from mocks.systems import Systems
from simulator.truth import GroundTruth
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
    # Work invoiced, but on a later run than the timeliness rule says: the ERP ends right, a month late.
    late: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The ERP ends right: nothing wrong, missing or uninvoiced (late invoicing is reported apart)."""
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
            "late_invoices": len(self.late),
            # the most money at stake first (a count that is off is no money); ties by rule, then item
            "examples": [m.to_json() for m in sorted(
                self.mismatches, key=lambda m: (-(m.money_at_stake if m.currency else 0), m.rule, m.item))[:examples]],
        }


# -- the checks -----------------------------------------------------------------------------


def reconcile(systems: Systems, truth: GroundTruth) -> Reconciliation:
    """Every billing rule on the systems' final state; an empty mismatch list means the ERP is right.

    The expected side comes from the source systems and the firm's own book
    (``truth``), never from a record the connector wrote. ``items_checked``
    counts every source item valued (zero-value ones too: a rejected line
    must have net charges of zero), so a run that checked nothing cannot
    pass for a clean one.
    """
    result = Reconciliation()
    erp, psa, clm = systems.erp, systems.psa, systems.clm
    valuer = Valuer(systems, truth)
    catalog = valuer.catalog()
    result.items_checked = sum(len(items) for items in catalog.values())
    result.approved_billable_lines = sum(
        1 for ts in psa.timesheets.values() if ts.status == "approved" for line in ts.lines if line.billable
    )
    # One contract at a time (its items valued, its charges filed, every rule checked, then let go), so the
    # oracle holds one contract's valued items rather than the whole run's. What the charges themselves are
    # checked for is reported in ledger order, ahead of the per-item rules, as one pass over the ledger would.
    charges_of: dict[str, list] = defaultdict(list)
    by_charge: list[tuple[str, Mismatch]] = []  # (charge id, what is wrong with it)
    for charge in erp.charges.values():
        item = item_of(charge.lineage)
        contract_id = valuer.contract_of_item(item, catalog) if item is not None else None
        if contract_id is None:
            by_charge.append((charge.id, Mismatch("orphan_charge", f"erp:charge/{charge.id}", 0, charge.amount,
                                                  charge.currency, _orphan_reason(charge.lineage, item))))
        else:
            charges_of[contract_id].append(charge)
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    schedule = BillingSchedule.of(erp)
    posted = ItemBooks.of_posted(erp).posted_period
    for contract_id, catalogued in catalog.items():
        items = valuer.items_of(contract_id, catalogued)
        expected = {want.item: want for want in items}
        books = ItemBooks(posted)
        contract = clm.contracts[contract_id]
        filed = charges_of.pop(contract_id, ())
        for charge in filed:
            want = expected[item_of(charge.lineage)]
            books.add(want.item, charge)
            found = len(result.mismatches)
            _check_charge(result, erp, charge, want, contract.version, reversed_ids)
            by_charge.extend((charge.id, mismatch) for mismatch in result.mismatches[found:])
            del result.mismatches[found:]
        for charge in filed:  # once the contract's charges are all filed: what each item stands at
            want = expected[item_of(charge.lineage)]
            if not _charged_at_value(charge, want, books, reversed_ids):
                continue
            for mismatch in (_cited_version(charge, want, contract.version, valuer), _hours_and_rate(charge, want, valuer)):
                if mismatch is not None:
                    by_charge.append((charge.id, mismatch))
        if contract.billing_type == "capped_tm" and contract.terms.cap is not None:
            _check_capped(result, contract, items, books)
            _check_release_order(result, contract, items, books)
        else:
            for want in items:
                _check_item(result, want, books)
        for want in items:
            _check_invoiced(result, want, books, schedule, contract.legal_entity,
                            capped=contract.billing_type == "capped_tm" and contract.terms.cap is not None)
    if by_charge:
        position = {charge_id: n for n, charge_id in enumerate(erp.charges)}
        by_charge.sort(key=lambda found: position[found[0]])  # stable: a charge's own findings keep their order
        result.mismatches[:0] = [mismatch for _, mismatch in by_charge]
    _check_invoices(systems, result)
    _check_master_data(systems, result)
    _check_delivery_records(systems, truth, result)
    _check_billing_writeback(systems, result, reversed_ids)
    return result


REVERSAL_LINEAGE = ("source_system", "source_type", "source_id", "contract_id", "contract_version", "source_version",
                    "approval_id")  # what a reversal repeats of the charge it reverses


def _check_charge(result: Reconciliation, erp, charge, want: SourceItem, contract_version: int,
                  reversed_ids: set[str]) -> None:
    """What one charge must be, for the item it cites: complete lineage (a reversal: the lineage of the charge it
    reverses), the item's contract's billing project, and while it is open, the approval of the item's final
    version."""
    _check_lineage(result, charge, want, contract_version)
    reversed_charge = erp.charges.get(charge.reversal_of) if charge.reversal_of else None
    if reversed_charge is not None:
        differ = [k for k in REVERSAL_LINEAGE if charge.lineage.get(k) != reversed_charge.lineage.get(k)]
        if differ:
            result.add(Mismatch("lineage", f"erp:charge/{charge.id}", f"the lineage of charge {reversed_charge.id}",
                                ", ".join(f"{k} {charge.lineage.get(k)!r} for {reversed_charge.lineage.get(k)!r}"
                                          for k in differ),
                                detail=f"for {want.item}: a reversal carries the lineage of the charge it reverses, "
                                       "so an auditor can walk from it to what it takes back"))
    sits_on = erp.billing_projects[charge.billing_project_id].contract_ref
    if sits_on != want.contract_id:
        result.add(Mismatch("billing_project", want.item, want.contract_id, sits_on,
                            detail=f"charge {charge.id} sits on another contract's billing project"))
    cited = charge.lineage.get("approval_id")
    if _still_open(charge, reversed_ids) and want.amount and want.current_approval and cited and cited != want.current_approval:
        result.add(Mismatch("lineage", f"erp:charge/{charge.id}", want.current_approval, cited,
                            detail=f"for {want.item}: an open charge must cite the approval of the final version"))


def _still_open(charge, reversed_ids: set[str]) -> bool:
    """Whether a charge still stands: neither released into parts, nor a reversal, nor reversed."""
    return charge.status != "released" and not charge.reversal_of and charge.id not in reversed_ids


def _charged_at_value(charge, want: SourceItem, books: ItemBooks, reversed_ids: set[str]) -> bool:
    """Whether ``charge`` is an open charge of an item with a value whose charges add up to it: where they do
    not, the amount is what is wrong (``net_charge`` or the cap rules say so), and how a charge of a wrong amount
    is described is no second defect."""
    return (charge.amount > 0 and bool(want.amount) and _still_open(charge, reversed_ids)
            and books.ledger(want.item) + books.held(want.item) == want.amount)


def _hours_and_rate(charge, want: SourceItem, valuer: Valuer) -> Mismatch | None:
    """An open charge of a timesheet line charged at its value shows the line's hours as its quantity and the
    rate in force as its unit price (a part released from a held charge keeps both): what the customer checks an
    invoice's labour against. One unit at the line's amount adds up, and shows neither. An expense or a milestone
    is one unit at its value (a markup shown as a fractional quantity of the raw cost adds up too)."""
    if want.kind in ("expense", "milestone"):  # one unit at the item's value (a released part keeps both)
        if charge.quantity == 1 and charge.unit_price == want.amount:
            return None
        return Mismatch("hours_and_rate", f"erp:charge/{charge.id}", f"quantity 1 at unit_price {want.amount}",
                        f"quantity {charge.quantity} at unit_price {charge.unit_price}",
                        detail=f"for {want.item}: an {want.kind} is charged as one unit at its value "
                               f"({want.currency} minor units), so that the invoice shows what it costs")
    if want.kind != "timesheet_line":
        return None
    hours, rate = valuer.hours_and_rate(want)
    if charge.quantity == hours and charge.unit_price == rate:
        return None
    return Mismatch("hours_and_rate", f"erp:charge/{charge.id}", f"quantity {hours} at unit_price {rate}",
                    f"quantity {charge.quantity} at unit_price {charge.unit_price}",
                    detail=f"for {want.item}: a labour charge shows the line's hours as its quantity and the rate in "
                           f"force ({want.currency} minor units an hour) as its unit price, so that the invoice says "
                           "what was worked and at what price")


def _cited_version(charge, want: SourceItem, contract_version: int, valuer: Valuer) -> Mismatch | None:
    """An open charge of an item charged at its value cites a contract version whose terms give that value: an
    older version than the final one only where the amendments since left the item's price alone. (A charge
    priced by an old version and citing it has consistent lineage: its amount is what is wrong.)"""
    version = charge.lineage.get("contract_version")
    if type(version) is not int or not 1 <= version < contract_version:
        return None
    worth = valuer.worth_under(want, version)
    if worth is None or worth == want.amount:
        return None
    return Mismatch("lineage", f"erp:charge/{charge.id}", f"a contract version pricing it at {want.amount}",
                    f"contract_version {version}, which prices it at {worth}",
                    detail=f"for {want.item}: an open charge must cite a contract version whose terms give its "
                           f"price; the final version, {contract_version}, does and {version} does not")


def _orphan_reason(lineage: dict[str, Any], item: str | None) -> str:
    if item is None:
        missing = [k for k in ("source_system", "source_type", "source_id") if not lineage.get(k)]
        return f"lineage lacks {', '.join(missing)}, so it names no source item (lineage {lineage!r})"
    return f"lineage names {item}, which is no source item the firm has"


@dataclass
class ItemBooks:
    """The ERP's charges per source item, and what they add up to: on the ledger (unbilled + invoiced: what the
    ERP will have billed), held, and on posted documents by period.

    Only the charges are kept, one list per item; the sums are taken when asked (an item has a few charges), so
    the oracle does not hold four tables the size of the ledger at once. Charges citing no source item (orphans)
    are reported as such and never filed.
    """

    posted_period: dict[str, str]  # posted document id -> its period
    charges: dict[str, list] = field(default_factory=dict)  # item -> its charges, every state, in ledger order

    @classmethod
    def of_posted(cls, erp) -> ItemBooks:
        """Empty books that know the ERP's posted documents; :meth:`add` files each charge under its item."""
        return cls({i.id: i.period for i in erp.invoices.values() if i.status == "posted"})

    def add(self, item: str, charge) -> None:
        """File ``charge`` under ``item`` (the caller passes one string object per item: the books add no copies)."""
        filed = self.charges.get(item)
        if filed is None:
            self.charges[item] = [charge]
        else:
            filed.append(charge)

    def ledger(self, item: str) -> int:
        return sum(c.amount for c in self.charges.get(item, ()) if c.status in BILLED)

    def held(self, item: str) -> int:
        return sum(c.amount for c in self.charges.get(item, ()) if c.status == "held")

    def invoiced(self, item: str) -> dict[str, int]:
        """Period of the posted document -> net amount of the item's charges on it."""
        by_period: dict[str, int] = {}
        for charge in self.charges.get(item, ()):
            period = self.posted_period.get(charge.invoice_id) if charge.invoice_id is not None else None
            if period is not None:
                by_period[period] = by_period.get(period, 0) + charge.amount
        return by_period

    def invoiced_total(self, item: str) -> int:
        return sum(self.invoiced(item).values())

    def invoiced_by(self, item: str, period: str) -> int:
        return sum(amount for p, amount in self.invoiced(item).items() if p <= period)


@dataclass
class BillingSchedule:
    """The monthly billing runs finance held, per legal entity: the calendar the timeliness rule reads."""

    periods: dict[str, list[str]]  # legal entity -> periods billed, in order

    @classmethod
    def of(cls, erp) -> BillingSchedule:
        periods: dict[str, list[str]] = defaultdict(list)
        for entity, period in sorted(erp.billing_runs):
            periods[entity].append(period)
        return cls(periods)

    def due_period(self, entity: str, want: SourceItem) -> str | None:
        """The run an item must be invoiced on: see :data:`TIMELINESS_RULE`."""
        for period in self.periods.get(entity, []):
            if period >= want.date[:7] and (want.settled_at is None or want.settled_at < cutoff_of(period)):
                return period
        return None


TIMELINESS_RULE = (
    "Billable work is due on the first billing run whose period includes its work date and whose cut-off "
    "(midnight at the end of the period; the run itself follows at 06:00 on the 1st) comes after the work "
    "reached its final value: its final approval, or the signing of the contract version that prices it, "
    "whichever is later. By that run, the item's charges on posted invoices and credit notes must add up to "
    "its value (on a capped contract: to its part not held, and work held over the cap is due from its "
    "release). A later approval goes to the next run. Work "
    "that settles after the last run of the horizon is not due yet. Nothing is billed in advance: no run for a "
    "period before the item's own carries it (a milestone's own period may be that of its acceptance, when the "
    "client accepted it ahead of plan). A charge is dated within the period of the first run, from the item's due "
    "run on, whose cut-off follows its making, so that run takes it."
)


def cutoff_of(period: str) -> str:
    """The instant a period's billing cut-off falls: midnight at the start of the next month (ISO, UTC)."""
    year, month = (int(x) for x in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01T00:00:00Z"


def _check_item(result: Reconciliation, want: SourceItem, books: ItemBooks) -> None:
    got, held = books.ledger(want.item), books.held(want.item)
    if not want.recorded and got == 0 and want.amount:
        result.add(Mismatch("missing_psa_milestone", want.item, want.amount, 0, want.currency,
                            f"contract {want.contract_id}: the client accepted this milestone but the PSA has "
                            f"no milestone to record it on, so it was never billed"))
        return
    if got != want.amount or held:
        detail = f"contract {want.contract_id}, {want.kind} dated {want.date}"
        if held:
            detail += f"; {held} held on a contract without a cap"
        result.add(Mismatch("net_charge", want.item, want.amount, got, want.currency, detail))
        if got > want.amount:
            result.over_billing[want.currency] += got - want.amount


def _check_invoiced(result: Reconciliation, want: SourceItem, books: ItemBooks, schedule: BillingSchedule,
                    entity: str, capped: bool) -> None:
    """Timeliness (:data:`TIMELINESS_RULE`): what is charged for due work is on a posted document of its run.

    Whether the charges are *right* is the net-charge and cap rules' concern;
    this rule asks whether what was charged reached an invoice, and when.
    Revenue leakage counts, per due item, the value not on a posted
    document by the end (per item not yet due, the value not charged).
    """
    charged = books.ledger(want.item)
    if capped:  # work held over the cap is due only from its release on
        released = [c.released_at for c in books.charges.get(want.item, []) if c.released_at]
        if released and max(released) > (want.settled_at or ""):
            want = replace(want, settled_at=max(released))
    _check_billed_in_advance(result, want, books)
    due = schedule.due_period(entity, want)
    invoiced = books.invoiced_total(want.item)
    if due is not None:
        _check_dated_past_due(result, want, books, [p for p in schedule.periods[entity] if p >= due])
    if due is None:
        if not capped and charged < want.amount:
            result.leakage[want.currency] += want.amount - charged
        return
    unbilled = charged - invoiced if capped else want.amount - invoiced  # capped: the cap rule counts the uncharged
    if unbilled > 0:
        result.leakage[want.currency] += unbilled
    where = (f"due on the {entity} billing run for {due} (work dated {want.date}, final at {want.settled_at})")
    if invoiced < charged:
        result.add(Mismatch("not_invoiced", want.item, charged, invoiced, want.currency,
                            f"{where}: the ERP holds charges of {charged} for it, of which posted invoices and "
                            f"credit notes carry {invoiced} by the end of the run"))
        return
    if invoiced > charged:  # a correction (a reversal) is on the ledger, waiting for the next run
        result.late.append(Mismatch("late_invoice", want.item, charged, invoiced, want.currency,
                                    f"{where}: posted documents carry {invoiced}; a correction to {charged} is on "
                                    f"the ledger but on no posted document yet"))
        return
    by_due = books.invoiced_by(want.item, due)
    if by_due != charged:
        late = sorted(p for p in books.invoiced(want.item) if p > due)
        result.late.append(Mismatch("late_invoice", want.item, charged, by_due, want.currency,
                            f"{where}: on the documents of that run and earlier only {by_due}; the rest came on "
                            f"the run(s) for {', '.join(late)}"))


def _check_billed_in_advance(result: Reconciliation, want: SourceItem, books: ItemBooks) -> None:
    """No posted document of a period before the item's own carries it: work, a milestone or a retainer month is
    billed on or after the run for the period its date falls in (a milestone's from its acceptance, when the client
    accepted it ahead of plan), never in advance. No fault makes a connector do this: only the dates it writes."""
    first = (want.earliest or want.date)[:7]
    early = {period: amount for period, amount in books.invoiced(want.item).items() if period < first and amount}
    if early:
        result.add(Mismatch("early_invoice", want.item, 0, sum(early.values()), want.currency,
                            f"contract {want.contract_id}, {want.kind} dated {want.date}: billed in advance, on the "
                            f"run(s) for {', '.join(sorted(early))}, before the run for {first}"))


# What the days of :attr:`SourceItem.dated_on` are, by kind.
OWN_DAYS = {"timesheet_line": "a timesheet line is charged on its work date",
            "expense": "an expense is charged on the day it was spent",
            "milestone": "a milestone is charged on its planned date or the day the client accepted it",
            "retainer_period": "a retainer month is charged on its first day"}


def _check_dated_past_due(result: Reconciliation, want: SourceItem, books: ItemBooks, runs: list[str]) -> None:
    """A charge is dated so that the first billing run whose cut-off follows its making takes it, when that run is
    the item's due run or a later one (``runs``: their periods, the due one first). A connector that knew of the
    work in time and dated its charge later (the first of next month, a "not before" date) made it late, or left it
    off every invoice, on its own, whatever fault the run had; a charge made after the last run's cut-off is
    waiting for a run the horizon does not hold, which the timeliness rule already weighs.

    And a charge made in time for the due run is dated on a day of the item's own (:attr:`SourceItem.dated_on`:
    the work date, the expense's date, a milestone's plan or acceptance): the invoice says when the work was done.
    (Work charged later may carry the day it was charged; a reversal, the day it was made.)"""
    for charge in books.charges.get(want.item, ()):
        if charge.status not in BILLED:
            continue
        run = next((period for period in runs if charge.created_at < cutoff_of(period)), None)
        if run is not None and charge.charge_date[:7] > run:
            result.add(Mismatch("misdated_charge", want.item, f"a date in {run} at the latest", charge.charge_date,
                                detail=f"contract {want.contract_id}, {want.kind} dated {want.date}: charge "
                                       f"{charge.id} ({charge.amount} {charge.currency}), made at {charge.created_at}, "
                                       f"before the cut-off of the run for {run} (its item was due on the run for "
                                       f"{runs[0]}), is dated {charge.charge_date}, so that run could not take it"))
        elif (want.dated_on and run is not None and run == runs[0] and not charge.reversal_of
              and charge.charge_date not in want.dated_on):
            days = " or ".join(want.dated_on)
            result.add(Mismatch("misdated_charge", want.item, days, charge.charge_date,
                                detail=f"contract {want.contract_id}: charge {charge.id} ({charge.amount} "
                                       f"{charge.currency}), made at {charge.created_at}, in time for its due run "
                                       f"(for {runs[0]}), is dated {charge.charge_date}: {OWN_DAYS[want.kind]}, "
                                       f"{days}"))


def _check_capped(result: Reconciliation, contract, items: list[SourceItem], books: ItemBooks) -> None:
    """Capped T&M: which items end up held depends on arrival order, so per item only
    ``0 <= billed <= value`` and ``billed + held = value`` are required, and per contract
    ``billed = min(value, cap)``."""
    cap = contract.terms.cap
    value = sum(i.amount for i in items)
    total = sum(books.ledger(i.item) for i in items)
    for want in items:
        got, parked = books.ledger(want.item), books.held(want.item)
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
    result.held[contract.currency] += sum(books.held(i.item) for i in items)


def _check_release_order(result: Reconciliation, contract, items: list[SourceItem], books: ItemBooks) -> None:
    """Held work is released oldest first: each release, against the holds live at that moment.

    Read from the ERP's own record: a hold lives from its creation until it
    is released or reversed. A release must pick the live hold with the
    earliest work date (ties by item id); releasing a newer one while an
    older one waits is a mismatch naming both.
    """
    order = {want.item: (want.date, want.item) for want in items}
    reversed_at = {}
    holds = []
    for want in items:
        for charge in books.charges.get(want.item, []):
            if charge.reversal_of:
                reversed_at[charge.reversal_of] = charge.created_at
    for want in items:
        for charge in books.charges.get(want.item, []):
            was_held = charge.created_held or (charge.released_from is not None
                                               and (charge.released_at is not None or charge.status in ("held", "released")))
            if was_held and charge.amount > 0:
                holds.append(charge)
    releases = sorted((c for c in holds if c.released_at), key=lambda c: (c.released_at, order[item_of(c.lineage)]))
    done: set[str] = set()
    for release in releases:
        at = release.released_at
        mine = order[item_of(release.lineage)]
        older = [h for h in holds if h.id not in done and h.id != release.id and h.created_at < at
                 and (h.released_at is None or h.released_at >= at)
                 and (h.id not in reversed_at or reversed_at[h.id] > at)
                 and order[item_of(h.lineage)] < mine]
        done.add(release.id)
        if older:
            first = min(older, key=lambda h: order[item_of(h.lineage)])
            result.add(Mismatch("release_order", item_of(release.lineage), item_of(first.lineage),
                                item_of(release.lineage), contract.currency,
                                f"capped contract {contract.id}: at {at} the ERP released held charge {release.id} "
                                f"(work of {mine[0]}) while {first.id} (work of {order[item_of(first.lineage)][0]}) "
                                f"was still held; held work is released oldest work date first"))


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
        # The display name the ERP prints on invoices is the legal name wherever it fits the ERP's limit; a longer
        # one is shortened as the connector sees fit (its full text travels in legal_name).
        if len(account.legal_name) <= CUSTOMER_NAME_MAX and customer.name != account.legal_name:
            result.add(Mismatch("customer_master_data", f"crm:account/{account.id}", account.legal_name, customer.name,
                                detail=f"ERP customer {customer.id} field name differs from the CRM's legal name, "
                                       f"which fits the ERP's {CUSTOMER_NAME_MAX} characters"))
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
    signed_for = {}  # account -> its first signed contract, to name in the finding
    for contract in clm.contracts.values():
        if contract.status != "signed":
            continue
        signed_for.setdefault(contract.account_id, contract.id)
        if contract.id not in projects:
            result.add(Mismatch("missing_billing_project", f"clm:contract/{contract.id}", 1, 0,
                                detail="signed contract has no ERP billing project"))
    for account_id in crm.accounts:  # each CRM account is exactly one ERP customer, whether or not a deal was won
        if account_id not in customers:
            contract_id = signed_for.get(account_id)
            result.add(Mismatch("missing_customer", f"crm:account/{account_id}", 1, 0,
                                detail=f"signed contract {contract_id} has no ERP customer" if contract_id else
                                "the CRM account has no ERP customer"))




def _check_delivery_records(systems: Systems, truth: GroundTruth, result: Reconciliation) -> None:
    """The PSA records the connector creates, against the firm's book: one project per signed contract,
    pointing at the contract its team delivers and starting with its term, and a milestone for each of a
    fixed-fee contract's, planned on the contract's date."""
    psa, clm = systems.psa, systems.clm
    staffed = set(truth.project_contract.values())
    for contract in clm.contracts.values():
        if contract.signed_at and contract.id not in staffed:
            result.add(Mismatch("missing_psa_project", f"clm:contract/{contract.id}", "a PSA project",
                                sorted(p.id for p in psa.projects.values() if p.contract_ref == contract.id) or None,
                                detail="signed contract whose team was never staffed: the PSA never held a project "
                                       "for it, so no work could be logged"))
    for project_id, contract_id in sorted(truth.project_contract.items()):
        project = psa.projects[project_id]
        if project.contract_ref != contract_id:
            result.add(Mismatch("psa_project", f"psa:project/{project_id}", contract_id, project.contract_ref,
                                detail="the project's contract reference is not the contract its team delivers"))
        starts = clm.contracts[contract_id].terms.start_date
        if project.start_date != starts:
            result.add(Mismatch("psa_project", f"psa:project/{project_id}", starts, project.start_date,
                                detail=f"the project's start date is not the start of {contract_id}'s term: staffing "
                                       "and utilisation plans run from the wrong day"))
    for contract_id in sorted(truth.milestones_delivered):
        planned = {m.ref: m.planned_date for m in clm.contracts[contract_id].terms.milestones}  # ref -> its date
        projects = set(truth.projects_of(contract_id))
        on_projects = sorted((m for m in psa.milestones.values() if m.project_id in projects), key=lambda m: m.id)
        recorded = Counter(m.ref for m in on_projects)
        for ref in sorted(planned.keys() - set(recorded)):
            if (contract_id, ref) in truth.milestones_accepted:
                continue  # accepted by the client: reported with its money by the item check
            result.add(Mismatch("missing_psa_milestone", f"clm:milestone/{contract_id}/{ref}", 1, 0,
                                detail="a milestone of the contract's schedule has no PSA milestone"))
        for ref, count in sorted(recorded.items()):
            if ref not in planned or count > 1:
                result.add(Mismatch("psa_milestone", f"clm:milestone/{contract_id}/{ref}",
                                    1 if ref in planned else 0, count,
                                    detail="PSA milestones for this ref on the contract's projects"))
        for milestone in on_projects:
            if milestone.ref in planned and milestone.planned_date != planned[milestone.ref]:
                result.add(Mismatch("psa_milestone_date", f"psa:milestone/{milestone.id}", planned[milestone.ref],
                                    milestone.planned_date,
                                    detail=f"planned date of {contract_id}/{milestone.ref}: delivery plans and "
                                           "chases the milestone by the date the contract does not give"))


def _check_billing_writeback(systems: Systems, result: Reconciliation, reversed_ids: set[str]) -> None:
    """Every PSA item billed on a posted invoice says so, citing one of the invoices that billed it; and every PSA
    item that says it was billed cites an invoice that bills it (marking work billed that no invoice carries, held
    or non-billable work, or a whole timesheet for one line, tells delivery managers to stop chasing it).

    Where a charge of the item that still stands (no charge reverses it) is on a posted invoice, the PSA cites
    one of those invoices: work reversed and billed again (re-priced by an amendment, re-valued by an
    adjustment) is billed by the later invoice, and a PSA that still cites the first sends whoever chases the
    work to a document whose line for it was taken back."""
    erp, psa = systems.erp, systems.psa
    billed_on: dict[tuple[str, str], set[str]] = defaultdict(set)
    standing_on: dict[tuple[str, str], set[str]] = defaultdict(set)
    for invoice in erp.invoices.values():
        if invoice.status != "posted":
            continue
        for line in invoice.lines:
            lineage = line.get("lineage") or {}
            if line["amount"] > 0 and lineage.get("source_type") in ("timesheet_line", "expense", "milestone"):
                key = (lineage["source_type"], lineage["source_id"])
                billed_on[key].add(invoice.number)
                if line["charge_id"] not in reversed_ids:
                    standing_on[key].add(invoice.number)
    for (kind, source_id), numbers in billed_on.items():
        if kind == "timesheet_line":
            found = psa.lines.get(source_id)
            entity = found[1] if found else None
        else:
            entity = (psa.expenses if kind == "expense" else psa.milestones).get(source_id)
        if entity is None:
            continue  # no such source item: reported as an orphan charge already
        standing = standing_on.get((kind, source_id))
        if entity.billing_status != "billed" or entity.invoice_ref not in (standing or numbers):
            detail = "the PSA does not show the invoice that billed it"
            if standing and entity.invoice_ref in numbers:
                detail = (f"the PSA cites invoice {entity.invoice_ref}, whose charge for it was reversed: it was "
                          "billed again on a later invoice or credit note")
            result.add(Mismatch("billing_writeback", f"psa:{kind}/{source_id}", sorted(standing or numbers),
                                entity.invoice_ref, detail=detail))
    marked = chain((("timesheet_line", line) for _, line in psa.lines.values()),
                   (("expense", expense) for expense in psa.expenses.values()),
                   (("milestone", milestone) for milestone in psa.milestones.values()))
    for kind, entity in marked:
        if entity.billing_status == "billed" and (kind, entity.id) not in billed_on:
            result.add(Mismatch("billing_writeback", f"psa:{kind}/{entity.id}", "unbilled", entity.invoice_ref,
                                detail=f"the PSA says invoice {entity.invoice_ref} billed it, and no posted invoice "
                                       "carries it"))
