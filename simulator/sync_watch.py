"""What the sync-lag measurement needs from a run and the systems' end state does not keep, recorded as it happens.

The end state says when each billing project, PSA project and charge was
created, but not what an ERP customer held at each moment, which webhook
deliveries reached a running connector, nor when the connector was down.
:class:`SyncWatch` keeps exactly that, from two of the run's own records:

- every system's change feed: each change the connector must carry over
  (:data:`simulator.sync_lag.MEASURED`), and the state of the CRM account or
  ERP customer right after each change to it;
- the trace: deliveries (``webhook``), lost ones (``webhook_drop`` faults,
  ``webhook_failed``), deliveries that met a closed endpoint
  (``endpoint_down``), and the connector's crashes, kills, downtime and
  restarts, each with the fault that caused it.

It only reads and never changes what it sees; :mod:`simulator.sync_lag`
measures. Scenario outages are passed in as disruptions of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mocks.core.clock import Clock
from mocks.core.feed import ChangeEvent
from mocks.systems import Systems
from simulator.sync_lag import (
    ACCOUNT_CREATED,
    ACCOUNT_UPDATED,
    CONTRACT_SIGNED,
    EXPENSE_APPROVED,
    MILESTONE_APPROVED,
    NEVER,
    TIMESHEET_ADJUSTED,
    TIMESHEET_APPROVED,
    Disruption,
    SourceChange,
    State,
    SyncRecords,
    master_data,
)
from simulator.trace import Sink

CUSTOMER_CHANGED = ("erp.customer.created", "erp.customer.updated")
WATCHED = frozenset({ACCOUNT_CREATED, ACCOUNT_UPDATED, *CUSTOMER_CHANGED, CONTRACT_SIGNED, TIMESHEET_APPROVED,
                     TIMESHEET_ADJUSTED, EXPENSE_APPROVED, MILESTONE_APPROVED})  # the changes on_change records
CAUSES = {"process_killed": "kill", "connector_crash": "crash", "connector_downtime": "downtime"}


def cause_words(fault: dict[str, Any] | None) -> str:
    """How a finding names what took the connector down: "killed after committed write 12 (POST erp /charges)"."""
    if fault is None:
        return "stopped"
    kind = fault["fault"]
    if kind == "connector_downtime":
        return f"down for {fault['hours']:g} h"
    if kind == "connector_crash":
        return "crashed"
    point = fault.get("point")
    request = f"{fault.get('method')} {fault.get('system')} {fault.get('path')}"
    if point == "after_write":
        return f"killed after committed write {fault['write']} ({request})"
    if point == "after_ack":
        return (f"killed at its next request ({request}, not sent) after acknowledging delivery {fault['ack']} "
                f"({fault['event']} {fault['type']} {fault['entity']})")
    return f"killed after call {fault.get('call')} ({request})"


class SyncWatch:
    def __init__(self, systems: Systems, clock: Clock, outages: Iterable[Disruption] = ()) -> None:
        self._systems = systems
        self._clock = clock
        self.records = SyncRecords(disruptions=list(outages))
        self._order = 0
        self._last_approval: dict[str, str] = {}  # timesheet id -> its latest approval
        self._up = True
        self._down_since: float | None = None
        self._down_cause: dict[str, Any] | None = None
        self._cause: dict[str, Any] | None = None
        self._endpoint_down: tuple[str, int] | None = None
        for backend in systems.backends.values():
            backend.feed.subscribe(self.on_change)

    def tee(self, sink: Sink) -> Sink:
        """A trace sink that shows every record to this watch, then to ``sink``."""
        def both(record: dict[str, Any]) -> None:
            self.on_record(record)
            sink(record)
        return both

    # -- the change feeds -------------------------------------------------------------------
    def on_change(self, event: ChangeEvent) -> None:
        self._order += 1
        kind = event.type
        if kind not in WATCHED:  # most changes (charges, invoices, timesheets drafted) are no sync to time
            return
        now, records, systems = self._clock.now(), self.records, self._systems
        change = SourceChange(self._order, event.id, kind, event.entity_id, event.version, now)
        if kind in (ACCOUNT_CREATED, ACCOUNT_UPDATED):
            account = systems.crm.accounts[event.entity_id]
            records.accounts.setdefault(account.id, []).append(State(self._order, now, master_data(account)))
            records.changes.append(change)
        elif kind in CUSTOMER_CHANGED:
            customer = systems.erp.customers[event.entity_id]
            records.customers.setdefault(customer.external_ref, []).append(
                State(self._order, now, master_data(customer), customer.id))
        elif kind == CONTRACT_SIGNED:
            records.changes.append(change)
        elif kind == TIMESHEET_APPROVED:
            sheet = systems.psa.timesheets[event.entity_id]
            self._last_approval[sheet.id] = sheet.approval_id
            billable = any(line.billable and line.hours > 0 for line in sheet.lines)
            records.changes.append(_with(change, sheet.approval_id, billable))
        elif kind == TIMESHEET_ADJUSTED and event.entity_id in self._last_approval:
            records.changes.append(_with(change, self._last_approval[event.entity_id], True))
        elif kind == EXPENSE_APPROVED:
            expense = systems.psa.expenses[event.entity_id]
            records.changes.append(_with(change, expense.approval_id, expense.billable and expense.cost > 0))
        elif kind == MILESTONE_APPROVED:
            records.changes.append(_with(change, systems.psa.milestones[event.entity_id].approval_id, True))

    # -- the trace --------------------------------------------------------------------------
    def on_record(self, record: dict[str, Any]) -> None:
        kind = record["kind"]
        if kind == "webhook":
            event_id = record["id"]
            self.records.offered.add(event_id)
            reached = self._up and self._endpoint_down != (event_id, record["attempt"])
            self._endpoint_down = None
            if reached and event_id not in self.records.delivered:
                self.records.delivered[event_id] = record["t"]
        elif kind == "fault":
            fault = record["fault"]
            if fault == "webhook_drop":
                self.records.offered.add(record["event"])
            elif fault == "endpoint_down":
                self._endpoint_down = (record["event"], record["attempt"])
            elif fault in CAUSES:
                self._cause = record
        elif kind == "connector_crash":
            if self._down_since is None:
                self._down_since, self._down_cause = record["t"], self._cause
            self._up = False
        elif kind in ("connector_restart", "connector_restart_failed"):
            if self._down_since is not None:
                self._close(record["t"])
            self._up = kind == "connector_restart"

    def _close(self, end: float) -> None:
        cause = self._down_cause
        kind = CAUSES[cause["fault"]] if cause is not None else "crash"
        self.records.disruptions.append(Disruption(kind, self._down_since, end, cause_words(cause)))
        self._down_since = self._down_cause = None

    def finish(self) -> SyncRecords:
        """The records, with a connector still down at the end of the run down until never."""
        if self._down_since is not None:
            self._close(NEVER)
        return self.records


def _with(change: SourceChange, approval: str | None, billable: bool) -> SourceChange:
    return SourceChange(change.order, change.event_id, change.type, change.entity, change.version, change.at,
                        approval, billable)
