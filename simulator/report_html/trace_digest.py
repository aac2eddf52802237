"""What the report takes from a run's trace (``events.jsonl``), in one pass over its records.

Pure: :func:`digest_trace` folds an iterable of trace records (dicts, in the
trace's order) into a :class:`TraceDigest`; it reads no file and no clock.
Every figure is an exact join on what the trace records, never a guess:

- **Activity per day** (UTC calendar day of the simulated time): the
  connector's API calls per system, those that failed (no answer, or a
  status of 400 and above), and the faults injected, per kind.
- **Invoice cycle time**, per billed item: from an item's approval in the PSA
  (``psa.timesheet.approved``, ``psa.expense.approved``,
  ``psa.milestone.approved``; the latest before billing) to the PSA marking it
  billed (``*.billing_updated``, published once per line or item the
  connector writes an invoice back to). It is ``kpis.json``'s cycle time
  (approval to invoice posted) plus the write-back's delay, as the trace
  shows it per item; ``kpis.json`` has only its p50 and p95.
- **Pickup latency**, per source change: from a change in a source system
  (an account created, a contract signed or amended, a timesheet or expense
  approved) to the connector's first successful ``GET`` of that entity by
  its id (a path ending in the entity id, on the same system). Changes the
  connector never read by id are counted apart.
- **Entity histories**: the business events of every CLM contract, of the
  entities named in ``wanted`` (charges, timesheets, expenses and
  milestones a mismatch's lineage ties to a contract), of every ERP
  invoice, credit note and payment, and every billing run, for the
  contract timeline.
- **When a served firm stopped waiting** for its connector
  (``firm_stopped_waiting``): from then on the connector's work took
  simulated time, and lag after it overstates what the connector does.
- **What billing is for**: the contracts each invoice or credit note bills
  (the ``contracts`` its ``*.created`` record names: its charges'
  lineage) and the invoice each payment is for (its ``erp.payment.received``
  record's ``invoice``). A trace whose records lack them (written before
  they were recorded) ties no invoice or payment to a contract.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Approval events, and the billing write-back event that closes each one's cycle.
APPROVED = {"psa.timesheet.approved": "timesheet", "psa.expense.approved": "expense",
            "psa.milestone.approved": "milestone"}
BILLED = {"psa.timesheet.billing_updated": "timesheet", "psa.expense.billing_updated": "expense",
          "psa.milestone.billing_updated": "milestone"}

# Source changes whose pickup the report measures, and the interface each one starts.
PICKUP = {
    "crm.account.created": "CRM account created",
    "clm.contract.signed": "CLM contract signed or amended",
    "clm.contract.amended": "CLM contract signed or amended",
    "psa.timesheet.approved": "PSA timesheet or expense approved",
    "psa.expense.approved": "PSA timesheet or expense approved",
}
INTERFACES = ("CRM account created", "CLM contract signed or amended", "PSA timesheet or expense approved")

CONTRACT_PREFIX = "clm.contract."
BILLING_RUN = "erp.billing_run.completed"
DOCUMENT_CREATED = frozenset({"erp.invoice.created", "erp.credit_note.created"})  # they name the contracts billed
DOCUMENT_PREFIXES = ("erp.invoice.", "erp.credit_note.")  # a document's later events name it by its id
PAYMENT = "erp.payment.received"  # names the invoice it is for
STOPPED_WAITING = "firm_stopped_waiting"  # a served firm's hold budget for its connector ran out


def day_of(t: float) -> dt.date:
    """The UTC calendar day of a simulated epoch time."""
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).date()


@dataclass(frozen=True)
class Happening:
    """One business event of the trace: when, which system, what type, on which entity."""

    t: float
    system: str
    type: str
    entity: str


@dataclass
class TraceDigest:
    calls: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # system -> day -> calls
    failed_calls: Counter = field(default_factory=Counter)  # day -> calls without an answer or with status >= 400
    faults: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # kind -> day -> count
    cycle_hours: list[float] = field(default_factory=list)
    pickup_minutes: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in INTERFACES})
    never_read: Counter = field(default_factory=Counter)  # interface -> source changes never read by id
    histories: dict[str, list[Happening]] = field(default_factory=lambda: defaultdict(list))  # entity -> events
    billing_runs: list[Happening] = field(default_factory=list)
    documents: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # contract -> its invoices
    bills: dict[str, list[str]] = field(default_factory=dict)  # invoice or credit note -> the contracts it bills
    payments: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # invoice -> its payments
    paid: dict[str, str] = field(default_factory=dict)  # payment -> the invoice it is for
    stopped_waiting: dict[str, Any] | None = None  # the served firm's firm_stopped_waiting record, if any
    first_t: float | None = None
    last_t: float | None = None
    records: int = 0

    @property
    def contracts(self) -> list[str]:
        """Every CLM contract the trace shows, by id."""
        return sorted(entity for entity, events in self.histories.items()
                      if any(e.type.startswith(CONTRACT_PREFIX) for e in events))

    def days(self) -> list[dt.date]:
        """Every day from the first record's to the last's, gaps included."""
        if self.first_t is None or self.last_t is None:
            return []
        first, last = day_of(self.first_t), day_of(self.last_t)
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def digest_trace(records: Iterable[dict[str, Any]], wanted: frozenset[str] = frozenset()) -> TraceDigest:
    """Fold the trace into what the report shows (see the module's docstring); ``wanted``: entities whose
    events to keep besides every contract's."""
    digest = TraceDigest()
    approved_at: dict[tuple[str, str], float] = {}
    waiting: dict[tuple[str, str], list[tuple[str, float]]] = {}  # (system, entity) -> [(interface, t)]
    for record in records:
        t, kind = float(record["t"]), record["kind"]
        digest.records += 1
        if digest.first_t is None:
            digest.first_t = t
        digest.last_t = t
        if kind == "api":
            day = day_of(t)
            digest.calls[record["system"]][day] += 1
            status = record["status"]
            if status == 0 or status >= 400:
                digest.failed_calls[day] += 1
            elif record["method"] == "GET" and status < 300 and waiting:
                key = (record["system"], record["path"].rsplit("/", 1)[-1])
                for interface, since in waiting.pop(key, ()):
                    digest.pickup_minutes[interface].append((t - since) / 60)
        elif kind == "fault":
            digest.faults[record["fault"]][day_of(t)] += 1
        elif kind == STOPPED_WAITING:
            digest.stopped_waiting = record
        elif kind == "event":
            event_type, entity = record["type"], record["entity"]
            if event_type in APPROVED:
                approved_at[(APPROVED[event_type], entity)] = t
            elif event_type in BILLED:
                since = approved_at.get((BILLED[event_type], entity))
                if since is not None:
                    digest.cycle_hours.append((t - since) / 3600)
            if event_type in PICKUP:
                waiting.setdefault((record["system"], entity), []).append((PICKUP[event_type], t))
            if event_type == BILLING_RUN:
                digest.billing_runs.append(Happening(t, record["system"], event_type, entity))
                continue
            if event_type in DOCUMENT_CREATED and "contracts" in record:
                digest.bills[entity] = record["contracts"]
                for contract in record["contracts"]:
                    digest.documents[contract].append(entity)
            elif event_type == PAYMENT and "invoice" in record:
                digest.paid[entity] = record["invoice"]
                digest.payments[record["invoice"]].append(entity)
            if (event_type.startswith(CONTRACT_PREFIX) or entity in wanted or event_type == PAYMENT
                    or event_type.startswith(DOCUMENT_PREFIXES)):
                digest.histories[entity].append(Happening(t, record["system"], event_type, entity))
    for changes in waiting.values():
        for interface, _ in changes:
            digest.never_read[interface] += 1
    return digest
