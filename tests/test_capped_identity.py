"""The capped T&M identity, checked against a real ChargeWriter and a real in-process ERP.

A hypothesis state machine drives ``reference_impl.billing.ChargeWriter`` the way the
connector does (settle an item when an approval, adjustment or rejection arrives;
rebalance when an amendment moves the cap), runs and posts billing runs, and crashes
the connector (a fresh writer and ledger over the same durable storage). After every
step it reads the ERP's charges only -- never the writer's or the ledger's bookkeeping --
and checks, with its own arithmetic:

- per item: ``0 <= billed <= value`` and ``billed + held == value``, where billed is the
  sum of the item's charges (lineage ``source_id``) that are ``unbilled`` or ``invoiced``
  and held the sum of those that are ``held``;
- per contract: ``sum(billed) == min(sum(values), cap)``;
- posted invoices (and the charges on them) never change.

Release order. Overage is released "oldest work date first when an amendment raises the
cap" (README, "What the oracle checks") and, in billing.py, "when the cap falls below what
is billed, the newest billing goes back on hold"; *which* items end up held depends on
arrival order. So "no held item has an older work date than a billed one" is
NOT a guarantee (an old item approved after the cap was used up stays held while newer
items stay billed). What is guaranteed, and tested here per step (before/after), is:

- release: if a step reduces the held amount of an item it did not itself re-value, every
  item with a strictly older work date has nothing held afterwards (headroom goes to the
  oldest held work first; an item keeps held > 0 only if the older ones are clear or the
  headroom ran out before reaching it -- and once headroom is left, nothing is held);
- un-billing: if a step reduces the billed amount of an item it did not itself re-value,
  every item with a strictly newer work date has nothing billed afterwards;
- a cap amendment moves money one way only: a raise never un-bills an item and a cut
  never releases one; an unchanged cap moves nothing.

Items with the same work date may be taken in either order here (the writer breaks ties
by key; the oracle's release-order rule checks ties by item id, run against the ERP).

A second, simpler property settles a random set of items in two random arrival orders
and checks the identity for both: per-item allocation may differ, the totals may not.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mocks.core.clock import FixedClock, timestamp
from mocks.core.transport import InProcessTransport
from mocks.erp import ErpBackend, build_service
from reference_impl.api import ApiError, SystemClient
from reference_impl.billing import ChargeWriter, ContractBilling, Target
from reference_impl.ledger import Ledger
from simulator.storage import MemoryStorage

CLIENT_ID, CLIENT_SECRET = "c2c-connector", "capped-identity-secret"
ERP_HOST = "erp.c2c.test"
CONTRACT = "ctr-capped-1"
TAX_RATES = {"US-NY": Decimal("0.08875")}
MAX_VALUE, MAX_CAP = 50_000, 200_000

# The state machine's pool of source items (timesheet line id -> work date); two share a date.
ITEMS = {
    "L1": "2026-01-05", "L2": "2026-01-05", "L3": "2026-01-20",
    "L4": "2026-02-03", "L5": "2026-02-17", "L6": "2026-03-09",
}
PERIODS = ("2026-01", "2026-02", "2026-03")
BILLED_STATUSES = ("unbilled", "invoiced")

# database=None: no .hypothesis/ directory is written outside tests/.
MACHINE = settings(max_examples=60, stateful_step_count=25, deadline=None, database=None)
PROPERTY = settings(max_examples=60, deadline=None, database=None)


class Harness:
    """A fresh ERP (legal entity, customer, billing project) and a connector's charge writer on it."""

    def __init__(self, work_dates: dict[str, str]) -> None:
        self.work_dates = work_dates
        self.clock = FixedClock(timestamp(dt.date(2026, 1, 2)))
        self.erp = ErpBackend(self.clock, TAX_RATES)
        self.erp.add_legal_entity("US01", "c2c US", "USD", "US01")
        for period in PERIODS:  # finance opened them: the ERP bills only open periods
            self.erp.open_period(period)
        customer = self.erp.create_customer(
            external_ref="crm:acc-1", name="Acme", legal_name="Acme Inc.", tax_id="US-123", tax_jurisdiction="US-NY",
            currency="USD", billing_address={"line1": "1 Main St", "city": "New York", "postal_code": "10001",
                                             "country": "US"})
        self.project = self.erp.create_billing_project(
            customer_id=customer.id, legal_entity="US01", contract_ref=CONTRACT, currency="USD",
            name="Capped T&M", payment_terms_days=30)
        service = build_service(self.erp, {CLIENT_ID: CLIENT_SECRET})
        self.http = httpx.Client(transport=InProcessTransport({ERP_HOST: service}))
        self.storage = MemoryStorage()  # the connector's durable storage: survives a crash
        self.client, self.writer = self.connect()

    def connect(self) -> tuple[SystemClient, ChargeWriter]:
        """A (re)started connector: new client, new ledger object, new writer; only storage carries over."""
        client = SystemClient(self.http, "erp", f"http://{ERP_HOST}", CLIENT_ID, CLIENT_SECRET, self.clock.now)
        return client, ChargeWriter(client, Ledger(self.storage))

    def contract(self, cap: int, version: int = 1) -> ContractBilling:
        return ContractBilling(CONTRACT, version, self.project.id, "USD", "capped_tm", cap)

    def target(self, item: str, value: int, approval_id: str, version: int = 1) -> Target:
        day = self.work_dates[item]
        lineage = {"contract_id": CONTRACT, "contract_version": version, "source_system": "psa",
                   "source_type": "timesheet_line", "source_id": item, "source_version": 1,
                   "approval_id": approval_id, "timesheet_id": f"ts-{item}"}
        facts = {"kind": "timesheet_line", "line_id": item, "date": day}
        return Target(f"psa:timesheet_line/{item}", day, value, day, f"Consulting on {day}", "1", value, lineage, facts)

    def observed(self) -> dict[str, tuple[int, int]]:
        """Per item (billed, held), from the ERP's charges alone."""
        billed = dict.fromkeys(self.work_dates, 0)
        held = dict.fromkeys(self.work_dates, 0)
        for charge in self.erp.charges.values():
            assert charge.billing_project_id == self.project.id
            item = charge.lineage.get("source_id")
            assert item in self.work_dates, f"charge {charge.id} has lineage {charge.lineage!r}: no source item"
            assert charge.status in ("held", "unbilled", "invoiced", "released"), charge.status
            if charge.status in BILLED_STATUSES:
                billed[item] += charge.amount
            elif charge.status == "held":
                held[item] += charge.amount
        return {item: (billed[item], held[item]) for item in self.work_dates}

    def recharged_since(self, known: set[str]) -> set[str]:
        """The items charged afresh since the ERP held the charges ``known``: a new charge that is neither a
        reversal nor a part of a release (an item whose value and approval did not change is left alone)."""
        return {charge.lineage["source_id"] for charge_id, charge in self.erp.charges.items()
                if charge_id not in known and charge.reversal_of is None and charge.released_from is None
                and charge.amount > 0}

    def check_identity(self, values: dict[str, int], cap: int) -> dict[str, tuple[int, int]]:
        got = self.observed()
        for item, value in values.items():
            billed, held = got[item]
            assert 0 <= billed <= value, f"{item}: billed {billed} outside 0..{value} (held {held}); all {got}"
            assert billed + held == value, f"{item}: billed {billed} + held {held} != value {value}; all {got}"
        total_value = sum(values.values())
        total_billed = sum(billed for billed, _ in got.values())
        assert total_billed == min(total_value, cap), (
            f"contract billed {total_billed} != min(value {total_value}, cap {cap}); per item {got}")
        # A split release conserves money: the released original equals its two parts.
        parts: dict[str, int] = {}
        for charge in self.erp.charges.values():
            if charge.released_from is not None:
                parts[charge.released_from] = parts.get(charge.released_from, 0) + charge.amount
        for charge in self.erp.charges.values():
            if charge.status == "released":
                assert parts.get(charge.id) == charge.amount, f"released charge {charge.id} split badly"
        return got


def _posted_view(invoice: Any) -> dict[str, Any]:
    return {k: invoice.to_json()[k] for k in ("number", "status", "period", "lines", "subtotal", "tax_total", "total",
                                              "posted_at", "due_date", "billing_project_id", "currency")}


class CappedBilling(RuleBasedStateMachine):
    """One capped T&M contract, a pool of timesheet lines, a connector that may crash."""

    def __init__(self) -> None:
        super().__init__()
        self.h = Harness(ITEMS)
        self.values = dict.fromkeys(ITEMS, 0)
        self.approvals: dict[str, str] = {}
        self.approval_seq = 0
        self.cap = 0
        self.version = 1
        self.runs: set[str] = set()
        self.posted: dict[str, dict[str, Any]] = {}
        self.posted_charges: dict[str, tuple[int, str]] = {}

    def tick(self) -> None:
        self.h.clock.advance(20 * 60)  # time passes between events (and bearer tokens expire)

    # -- rules ------------------------------------------------------------------------------
    @initialize(cap=st.integers(0, MAX_CAP))
    def sign(self, cap: int) -> None:
        self.cap = cap

    @rule(changes=st.dictionaries(st.sampled_from(sorted(ITEMS)), st.tuples(st.integers(0, MAX_VALUE), st.booleans()),
                                  min_size=1, max_size=3))
    def settle(self, changes: dict[str, tuple[int, bool]]) -> None:
        """An approval, adjustment or rejection arrives for one or more lines of a timesheet."""
        self.tick()
        before, known = self.h.observed(), set(self.h.erp.charges)
        targets = []
        for item, (value, new_approval) in changes.items():
            if new_approval or item not in self.approvals:
                self.approval_seq += 1
                self.approvals[item] = f"apr-{self.approval_seq}"
            self.values[item] = value
            targets.append(self.h.target(item, value, self.approvals[item], self.version))
        self.h.writer.settle(self.h.contract(self.cap, self.version), targets)
        after = self.h.check_identity(self.values, self.cap)
        check_release_order(before, after, settled=set(changes), recharged=self.h.recharged_since(known))

    @rule(cap=st.integers(0, MAX_CAP), reprice=st.booleans())
    def amend_cap(self, cap: int, reprice: bool) -> None:
        """An amendment moves the cap; the connector re-settles what it charged (optionally) and rebalances."""
        self.tick()
        before = self.h.observed()
        old_cap, self.cap = self.cap, cap
        self.version += 1
        billing = self.h.contract(self.cap, self.version)
        if reprice:  # as reprice_contract does: re-value every item the ledger knows (all unchanged here)
            known = [self.h.target(i, self.values[i], self.approvals[i], self.version) for i in sorted(self.approvals)]
            self.h.writer.settle(billing, known)
        self.h.writer.rebalance(billing)
        after = self.h.check_identity(self.values, self.cap)
        check_release_order(before, after, settled=set())
        for item in ITEMS:
            (billed0, held0), (billed1, held1) = before[item], after[item]
            if cap > old_cap:
                assert billed1 >= billed0 and held1 <= held0, f"cap {old_cap}->{cap} un-billed {item}: {before} -> {after}"
            elif cap < old_cap:
                assert billed1 <= billed0 and held1 >= held0, f"cap {old_cap}->{cap} released {item}: {before} -> {after}"
            else:
                assert (billed1, held1) == (billed0, held0), f"unchanged cap {cap} moved {item}: {before} -> {after}"

    @rule(period=st.sampled_from(PERIODS))
    def bill_and_post(self, period: str) -> None:
        """The month-end billing run for a period; every draft it makes is posted."""
        self.tick()
        if period in self.runs:
            count = len(self.h.erp.invoices)
            try:
                self.h.client.call("POST", "/billing-runs", json={"legal_entity": "US01", "period": period})
            except ApiError as error:
                assert error.status == 409, error
            else:
                raise AssertionError(f"a second billing run for {period} was accepted")
            assert len(self.h.erp.invoices) == count
            return
        self.runs.add(period)
        body = self.h.client.call("POST", "/billing-runs", json={"legal_entity": "US01", "period": period})
        for draft in body["invoices"]:
            self.h.client.call("POST", f"/invoices/{draft['id']}/post")
            invoice = self.h.erp.invoices[draft["id"]]
            self.posted[invoice.id] = _posted_view(invoice)
            for line in invoice.lines:
                self.posted_charges[line["charge_id"]] = (line["amount"], invoice.id)

    @rule()
    def crash(self) -> None:
        """The connector restarts: in-memory state (the writer's totals, the ledger index, the token) is gone."""
        self.h.client, self.h.writer = self.h.connect()

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def capped_identity(self) -> None:
        self.h.check_identity(self.values, self.cap)

    @invariant()
    def posted_invoices_never_change(self) -> None:
        for invoice_id, view in self.posted.items():
            assert _posted_view(self.h.erp.invoices[invoice_id]) == view, f"posted invoice {invoice_id} changed"
        for charge_id, (amount, invoice_id) in self.posted_charges.items():
            charge = self.h.erp.charges[charge_id]
            assert (charge.status, charge.amount, charge.invoice_id) == ("invoiced", amount, invoice_id), (
                f"charge {charge_id} on posted invoice {invoice_id} changed: {charge.to_json()}")


def check_release_order(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], settled: set[str],
                        work_dates: dict[str, str] = ITEMS, recharged: set[str] = frozenset()) -> None:
    """Headroom goes to the oldest held work first; a cap cut puts the newest billing on hold first.

    Items settled in this step (``settled``) may be reversed and re-charged, so their own
    movement says nothing about order; they still count as older/newer blockers. But an item
    actually re-charged (``recharged``) is billed only out of headroom that older held work
    has no claim on: if it ends the step billed, no older item ends it held. (An item settled
    unchanged keeps its charges: work approved after the cap was used up may stay held while
    newer work stays billed, as the module docstring says.)
    """
    for j, day in work_dates.items():
        if j in settled:
            if j in recharged and after[j][0] > 0:
                older_held = {i: after[i] for i in work_dates if work_dates[i] < day and after[i][1] > 0}
                assert not older_held, f"re-charged {j} ({day}) billed {after[j][0]} while older items stay held: " \
                                       f"{older_held}"
            continue
        (billed0, held0), (billed1, held1) = before[j], after[j]
        if held1 < held0:
            older_held = {i: after[i] for i in work_dates if work_dates[i] < day and after[i][1] > 0}
            assert not older_held, f"released {held0 - held1} of {j} ({day}) while older items stay held: {older_held}"
        if billed1 < billed0:
            newer_billed = {i: after[i] for i in work_dates if work_dates[i] > day and after[i][0] > 0}
            assert not newer_billed, (
                f"put {billed0 - billed1} of {j} ({day}) on hold while newer items stay billed: {newer_billed}")


TestCappedBilling = CappedBilling.TestCase
TestCappedBilling.settings = MACHINE


# -- arrival order does not move the totals ------------------------------------------------------------------------


@st.composite
def capped_contracts(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, int], int, list[str], list[str]]:
    rows = draw(st.lists(st.tuples(st.dates(dt.date(2026, 1, 1), dt.date(2026, 3, 31)), st.integers(0, MAX_VALUE)),
                         min_size=1, max_size=8))
    work_dates = {f"T{n}": day.isoformat() for n, (day, _) in enumerate(rows)}
    values = {f"T{n}": value for n, (_, value) in enumerate(rows)}
    cap = draw(st.integers(0, MAX_CAP))
    first = draw(st.permutations(sorted(work_dates)))
    second = draw(st.permutations(sorted(work_dates)))
    return work_dates, values, cap, list(first), list(second)


@PROPERTY
@given(case=capped_contracts())
def test_capped_totals_do_not_depend_on_arrival_order(case) -> None:
    work_dates, values, cap, first, second = case
    totals = []
    for arrival in (first, second):
        h = Harness(work_dates)
        for item in arrival:
            h.writer.settle(h.contract(cap), [h.target(item, values[item], f"apr-{item}")])
        got = h.check_identity(values, cap)
        totals.append((sum(b for b, _ in got.values()), sum(held for _, held in got.values())))
    total_value = sum(values.values())
    assert totals[0] == totals[1] == (min(total_value, cap), total_value - min(total_value, cap))
