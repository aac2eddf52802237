"""Sync lag: how long each record the connector keeps was missing or wrong after its source changed.

One *change* is one change-feed event of a source system; it names the
records the connector must bring in line, and each pair (change, record) is
measured once. Measured, and nothing else:

- ``crm.account.created`` / ``crm.account.updated`` → the ERP customer of the
  account (``external_ref``). In line at the first instant, at or after the
  change, when an ERP customer of that account holds the account's master
  data as the account then stands (legal name, tax id, tax jurisdiction,
  currency, billing address). A change overtaken by a newer one of the same
  account is in line when the newer one is.
- ``clm.contract.signed`` → two records: the contract's ERP billing project
  and its PSA project (``contract_ref``); in line when the first of each
  was created.
- ``psa.timesheet.approved``, ``psa.expense.approved``,
  ``psa.milestone.approved``, when the approval had something to bill (a
  billable line with hours, a billable expense with a cost, a milestone) →
  an ERP charge citing the approval (held ones count); in line at the first
  such charge. An approval withdrawn (its timesheet re-opened for
  correction) before any charge cited it never was in line: it was missing
  until the withdrawal. A corrected timesheet's re-approval is a change of
  its own, so adjustments are measured through it.
- ``psa.timesheet.adjusted`` (an approved timesheet re-opened for
  correction) → the withdrawal of the approval's money: in line when every
  charge citing the withdrawn approval has been reversed or released (at
  once if none was ever written).

Not measured: contract amendments (their re-pricing would need every item's
value at every instant), retainer periods (opened by the ERP, not a source
change), and changes to records the firm never hands the connector.

When the clock starts (the *anchor*): when the change's webhook first
reached a running connector (a delivery while the connector or its endpoint
was down does not count); at the change itself when the connector was never
sent one (it does not subscribe to that type). A change whose webhook never
reached the connector (dropped, or every retry failed) is measured but not
*delivered*: recovering it from the change feed has its own bound
(C2C-RECON-002). If the connector went down (crashed, killed, a downtime
window) or a system had an outage while a change was still within its
allowance (``within_s`` after the anchor) and not yet in line, or the anchor
falls inside such a window, the clock starts again when work could resume:
at the restart (or the restart attempt, if the connector's factory then
failed), or at the end of the outage.

``lag`` = (in line, or withdrawn, or never) − anchor, never negative;
``late`` = lag > ``within_s``. Everything here is a pure function of what
the run recorded (:mod:`simulator.sync_watch`) and of the systems' end state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mocks.core.clock import iso
from simulator.kpis import epoch_seconds, first_charge_by_approval

NEVER = math.inf

ACCOUNT_CREATED, ACCOUNT_UPDATED = "crm.account.created", "crm.account.updated"
CONTRACT_SIGNED = "clm.contract.signed"
TIMESHEET_APPROVED, TIMESHEET_ADJUSTED = "psa.timesheet.approved", "psa.timesheet.adjusted"
EXPENSE_APPROVED, MILESTONE_APPROVED = "psa.expense.approved", "psa.milestone.approved"
APPROVALS = (TIMESHEET_APPROVED, EXPENSE_APPROVED, MILESTONE_APPROVED)
MEASURED = (ACCOUNT_CREATED, ACCOUNT_UPDATED, CONTRACT_SIGNED, *APPROVALS, TIMESHEET_ADJUSTED)

CONNECTOR_DOWN = ("kill", "crash", "downtime")  # disruption kinds of the connector itself (not a system outage)


def master_data(record: Any) -> tuple:
    """What an ERP customer must hold of its CRM account (and the oracle compares), as one comparable value."""
    return (record.legal_name, record.tax_id, record.tax_jurisdiction, record.currency,
            tuple(sorted(record.billing_address.items())))


@dataclass(frozen=True)
class SourceChange:
    """One change-feed event the connector must carry over, as the run recorded it."""

    order: int  # position in the run's record (ties in simulated time are broken by it)
    event_id: str
    type: str
    entity: str  # the source record's id
    version: int
    at: float  # simulated unix seconds
    approval: str | None = None  # an approval's id; for an adjustment, the approval it withdrew
    billable: bool = True  # an approval: whether it had anything to bill


@dataclass(frozen=True)
class State:
    """One state of a record, from the instant ``at`` (``order`` breaks ties)."""

    order: int
    at: float
    value: tuple
    record: str = ""  # which record (an ERP customer id), when several may stand for one source


@dataclass(frozen=True)
class Disruption:
    """A span in which work could not go on: the connector down (``end``: its restart), or a system's outage."""

    kind: str  # "kill", "crash", "downtime" (the connector) or "outage" (a system)
    start: float
    end: float  # the restart, the restart attempt, or the outage's end; NEVER if the run ended first
    what: str  # as a finding says it: "killed after committed write 12 (POST erp /charges)"


@dataclass
class SyncRecords:
    """What the run recorded for the measurement, in the run's order (see :mod:`simulator.sync_watch`)."""

    changes: list[SourceChange] = field(default_factory=list)
    accounts: dict[str, list[State]] = field(default_factory=dict)  # account id -> its master data over time
    customers: dict[str, list[State]] = field(default_factory=dict)  # account id -> its ERP customers over time
    delivered: dict[str, float] = field(default_factory=dict)  # event id -> first delivery to a running connector
    offered: set[str] = field(default_factory=set)  # event ids a webhook was (to be) sent for
    disruptions: list[Disruption] = field(default_factory=list)


@dataclass(frozen=True)
class Targets:
    """When the ERP and the PSA got each record, read from their end state."""

    billing_projects: Mapping[str, float]  # contract id -> the first billing project's creation
    psa_projects: Mapping[str, float]  # contract id -> the first PSA project's creation
    first_charge: Mapping[str, float]  # approval id -> the first charge citing it
    closed: Mapping[str, float]  # approval id -> when its last charge was reversed or released (NEVER: one is open)


@dataclass(frozen=True)
class Lag:
    """One record after one change: when the clock started, when the record was in line, and the lag."""

    entity: str  # "erp:customer of crm:account/acc_000001"
    change: SourceChange
    delivered: bool  # the webhook reached a running connector, or none was ever sent (not subscribed)
    reached_at: float  # when the webhook first reached a running connector (or the change, if none was sent)
    anchor: float  # when the clock (last) started: ``reached_at``, or a later restart
    synced_at: float | None  # in line from then on (None: never)
    withdrawn_at: float | None = None  # an approval withdrawn before any charge cited it
    restarts: tuple[Disruption, ...] = ()  # the disruptions that started the clock again, in order
    struck: tuple[Disruption, ...] = ()  # connector disruptions after the webhook reached it, before it was in line

    @property
    def ended_at(self) -> float:
        """When the record stopped being missing or wrong: in line, withdrawn, or never."""
        if self.synced_at is not None:
            return self.synced_at
        return self.withdrawn_at if self.withdrawn_at is not None else NEVER

    @property
    def seconds(self) -> float:
        return max(0.0, self.ended_at - self.anchor)

    def late(self, within_s: float) -> bool:
        return self.seconds > within_s

    def words(self) -> str:
        """"in the ERP at 2026-01-05T10:00:00Z", "never", or "withdrawn at ... before any charge cited it"."""
        if self.synced_at is not None:
            return f"in line at {iso(self.synced_at)}"
        if self.withdrawn_at is not None:
            return f"withdrawn at {iso(self.withdrawn_at)} before any charge cited it"
        return "never in line"


def targets_of(erp: Any, psa: Any) -> Targets:
    """When each billing project, PSA project and charge came to be, from the ERP's and the PSA's end state."""
    billing: dict[str, float] = {}
    for project in erp.billing_projects.values():
        at = epoch_seconds(project.created_at)
        billing[project.contract_ref] = min(at, billing.get(project.contract_ref, NEVER))
    projects: dict[str, float] = {}
    for project in psa.projects.values():
        at = epoch_seconds(project.created_at)
        projects[project.contract_ref] = min(at, projects.get(project.contract_ref, NEVER))
    first = {approval: epoch_seconds(at) for approval, at in first_charge_by_approval(erp).items()}
    reversed_at: dict[str, float] = {}
    for charge in erp.charges.values():
        if charge.reversal_of:
            at = epoch_seconds(charge.created_at)
            reversed_at[charge.reversal_of] = min(at, reversed_at.get(charge.reversal_of, NEVER))
    closed: dict[str, float] = {}
    for charge in erp.charges.values():
        approval = charge.lineage.get("approval_id")
        if not approval or charge.reversal_of:
            continue
        ends = [reversed_at.get(charge.id, NEVER)]
        if charge.released_at:
            ends.append(epoch_seconds(charge.released_at))
        closed[approval] = max(closed.get(approval, 0.0), min(ends))
    return Targets(billing, projects, first, closed)


def first_in_line(source: list[State], targets: list[State], since: int) -> float | None:
    """The first instant, from the state of order ``since`` on, when some target record equals the source."""
    points = sorted([(s.order, 0, s) for s in source] + [(t.order, 1, t) for t in targets], key=lambda p: p[:2])
    current: tuple | None = None
    held: dict[str, tuple] = {}
    for order, side, state in points:
        if side == 0:
            current = state.value
        else:
            held[state.record] = state.value
        if order >= since and current is not None and current in held.values():
            return state.at
    return None


def restarted(anchor: float, ended_at: float, disruptions: Iterable[Disruption],
              within_s: float) -> tuple[float, tuple[Disruption, ...]]:
    """The anchor after the disruptions that covered it or struck within its allowance, and those disruptions."""
    ordered = sorted(disruptions, key=lambda d: (d.start, d.end))
    moved: list[Disruption] = []
    changed = True
    while changed:
        changed = False
        for d in ordered:
            covers = d.start <= anchor < d.end
            strikes = anchor <= d.start < min(ended_at, anchor + within_s)
            if (covers or strikes) and d not in moved:
                anchor = max(anchor, d.end)
                moved.append(d)
                changed = True
    return anchor, tuple(moved)


def _lag(entity: str, change: SourceChange, records: SyncRecords, within_s: float, synced_at: float | None,
         withdrawn_at: float | None = None) -> Lag:
    delivered_at = records.delivered.get(change.event_id)
    offered = change.event_id in records.offered
    start = delivered_at if delivered_at is not None else change.at
    probe = Lag(entity, change, delivered_at is not None or not offered, start, start, synced_at, withdrawn_at)
    anchor, moved = restarted(start, probe.ended_at, records.disruptions, within_s)
    struck = tuple(d for d in records.disruptions
                   if d.kind in CONNECTOR_DOWN and delivered_at is not None and delivered_at <= d.start < probe.ended_at)
    return Lag(entity, change, probe.delivered, start, anchor, synced_at, withdrawn_at, moved, struck)


def measure(records: SyncRecords, targets: Targets, within_s: float) -> list[Lag]:
    """Every (change, record) pair of the run, in the run's order; see the module docstring for what is measured."""
    withdrawals = {c.approval: c.at for c in records.changes if c.type == TIMESHEET_ADJUSTED and c.approval}
    lags = []
    for change in records.changes:
        if change.type in (ACCOUNT_CREATED, ACCOUNT_UPDATED):
            synced = first_in_line(records.accounts.get(change.entity, []), records.customers.get(change.entity, []),
                                   change.order)
            lags.append(_lag(f"erp:customer of crm:account/{change.entity}", change, records, within_s, synced))
        elif change.type == CONTRACT_SIGNED:
            for entity, created in ((f"erp:billing_project of clm:contract/{change.entity}", targets.billing_projects),
                                    (f"psa:project of clm:contract/{change.entity}", targets.psa_projects)):
                lags.append(_lag(entity, change, records, within_s, created.get(change.entity)))
        elif change.type in APPROVALS and change.billable and change.approval:
            charged = targets.first_charge.get(change.approval)
            withdrawn = withdrawals.get(change.approval)
            if charged is not None and withdrawn is not None and charged > withdrawn:
                charged = None  # charged only after its withdrawal: stale, never in line while it stood
            lags.append(_lag(f"erp:charge citing psa:approval/{change.approval}", change, records, within_s,
                             charged, withdrawn if charged is None else None))
        elif change.type == TIMESHEET_ADJUSTED and change.approval:
            closed = targets.closed.get(change.approval, change.at)
            lags.append(_lag(f"erp:reversal of the charges citing psa:approval/{change.approval}", change, records,
                             within_s, None if closed == NEVER else max(closed, change.at)))
    return lags
