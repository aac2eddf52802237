"""One contract's story, from signature through amendments, approvals, charges and invoices to payments.

Pure: built from the mismatch records (``mismatches.jsonl``) and a
:class:`~simulator.report_html.trace_digest.TraceDigest`; reads nothing.

What ties an item to a contract is only what the files say, exactly:

- a mismatch names its contract by its item (``clm:contract/ID``,
  ``clm:milestone/ID/...``), by the charge's lineage (``contract_id``), or
  in its detail (``contract ID``, as the oracle writes it);
- a charge's lineage names the timesheet (``timesheet_id``) or the expense
  or milestone (``source_id``) it bills, so their events in the trace
  (approved, rejected, adjusted, marked billed) and the charge's own
  (created, released) join the contract's;
- the contract's own events (created, sent for approval, signed, amended)
  are in the trace under its id;
- an invoice or credit note is the contract's when its drafting record
  names it among the ``contracts`` it bills (the ``contract_id`` of its
  charges' lineage, as the ERP holds them), and its later events (posted,
  disputed) are under its id; a payment is the contract's when the invoice
  its record names (``invoice``) is;
- billing runs are the firm's, not a contract's: they are shown as the
  dates every contract's work is invoiced on.

The trace names no charge an invoice bills (it stays small): which charges,
approvals and write-backs a contract has that no mismatch names is not in
it, so the timeline shows those it can tie and says so
(:attr:`Timeline.scope`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from simulator.report_html.inputs import MismatchRecord
from simulator.report_html.trace_digest import PAYMENT, Happening, TraceDigest

DETAIL_CONTRACT = re.compile(r"\bcontract ([A-Za-z]+_[0-9A-Za-z]+)")

LANES = ("contract", "approvals", "charges", "billing runs", "invoices", "credit notes", "billed in the PSA",
         "payments")

# How each event reads on the timeline: lane and words. Types not listed read as their last two parts.
WORDING: dict[str, tuple[str, str]] = {
    "clm.contract.created": ("contract", "drafted"),
    "clm.contract.in_approval": ("contract", "sent for approval"),
    "clm.contract.signed": ("contract", "signed"),
    "clm.contract.amended": ("contract", "amendment signed"),
    "psa.timesheet.approved": ("approvals", "timesheet approved"),
    "psa.timesheet.rejected": ("approvals", "timesheet rejected"),
    "psa.timesheet.adjusted": ("approvals", "timesheet adjusted"),
    "psa.timesheet.edited": ("approvals", "timesheet edited"),
    "psa.expense.approved": ("approvals", "expense approved"),
    "psa.expense.rejected": ("approvals", "expense rejected"),
    "psa.milestone.approved": ("approvals", "milestone accepted"),
    "erp.charge.created": ("charges", "charge created"),
    "erp.charge.released": ("charges", "held charge released"),
    "psa.timesheet.billing_updated": ("billed in the PSA", "timesheet line marked billed"),
    "psa.expense.billing_updated": ("billed in the PSA", "expense marked billed"),
    "psa.milestone.billing_updated": ("billed in the PSA", "milestone marked billed"),
    "erp.billing_run.completed": ("billing runs", "billing run"),
    "erp.invoice.created": ("invoices", "invoice drafted"),
    "erp.invoice.posted": ("invoices", "invoice posted"),
    "erp.invoice.disputed": ("invoices", "invoice disputed"),
    "erp.credit_note.created": ("credit notes", "credit note drafted"),
    "erp.credit_note.posted": ("credit notes", "credit note posted"),
    PAYMENT: ("payments", "payment received"),
}


def wording(event_type: str) -> tuple[str, str]:
    if event_type in WORDING:
        return WORDING[event_type]
    system, *rest = event_type.split(".")
    lane = {"clm": "contract", "erp": "charges"}.get(system, "approvals")
    return lane, " ".join(rest).replace("_", " ")


def contract_of(mismatch: MismatchRecord) -> str | None:
    """The contract a mismatch is about, when the record says."""
    if mismatch.lineage and isinstance(mismatch.lineage.get("contract_id"), str):
        return mismatch.lineage["contract_id"]
    kind, _, rest = mismatch.item.partition("/")
    if kind in ("clm:contract", "clm:milestone"):
        return rest.split("/")[0] or None
    found = DETAIL_CONTRACT.search(mismatch.detail)
    return found.group(1) if found else None


def linked_entities(mismatches: list[MismatchRecord]) -> dict[str, str]:
    """Entity id -> contract id, for every charge, timesheet, expense or milestone a mismatch ties to a contract."""
    links: dict[str, str] = {}
    for mismatch in mismatches:
        contract = contract_of(mismatch)
        if contract is None:
            continue
        kind, _, entity = mismatch.item.partition("/")
        if kind in ("erp:charge", "psa:expense", "psa:milestone"):
            links.setdefault(entity, contract)
        lineage = mismatch.lineage or {}
        if isinstance(lineage.get("timesheet_id"), str):
            links.setdefault(lineage["timesheet_id"], contract)
        if lineage.get("source_type") in ("expense", "milestone") and isinstance(lineage.get("source_id"), str):
            links.setdefault(lineage["source_id"], contract)
    return links


@dataclass(frozen=True)
class TimelineEntry:
    t: float
    lane: str
    what: str
    entity: str


@dataclass(frozen=True)
class Timeline:
    contract: str
    why: str  # how it was chosen
    entries: list[TimelineEntry]  # in time order, billing runs included
    documents: list[BilledDocument]  # its invoices and credit notes, in the order they were drafted
    mismatches: list[MismatchRecord]  # the contract's, most money at stake first
    money_at_stake: dict[str, int]  # currency -> minor units, summed over its mismatches
    scope: str  # what the timeline can and cannot show, in a sentence


@dataclass(frozen=True)
class BilledDocument:
    """An invoice or credit note that bills the contract, as the trace tells it."""

    id: str
    kind: str  # "invoice" | "credit note"
    posted: float | None  # when, if the trace shows it posted
    disputed: tuple[float, ...]  # when each dispute was raised
    payments: tuple[tuple[str, float], ...]  # (payment id, when received), in that order
    others: tuple[str, ...]  # the other contracts it bills, if any


class UnknownContract(ValueError):
    """``--contract`` names a contract neither the trace nor the mismatches know."""


def choose_contract(mismatches: list[MismatchRecord], digest: TraceDigest, links: dict[str, str],
                    requested: str | None = None) -> tuple[str, str] | None:
    """(contract id, why) for the timeline: ``requested``, else the contract with the most money at stake in its
    mismatches, else the one with the most events in the trace (ties: the smallest id). None without contracts."""
    known = set(digest.contracts) | {c for c in map(contract_of, mismatches) if c}
    if requested is not None:
        if requested not in known:
            listed = ", ".join(sorted(known)[:5]) + (", ..." if len(known) > 5 else "")
            raise UnknownContract(f"no contract {requested!r} in this run" + (f" (it has {listed})" if known else ""))
        return requested, "chosen with --contract"
    stake: Counter = Counter()
    for mismatch in mismatches:
        contract = contract_of(mismatch)
        if contract is not None:
            stake[contract] += mismatch.money_at_stake
    if stake and max(stake.values()) > 0:
        contract = min(stake, key=lambda c: (-stake[c], c))
        return contract, "the contract with the most money at stake in its mismatches"
    if not known:
        return None
    events: Counter = Counter({c: len(digest.histories.get(c, ())) for c in known})
    for entity, contract in links.items():
        events[contract] += len(digest.histories.get(entity, ()))
    for contract in known:
        for document in digest.documents.get(contract, ()):
            events[contract] += len(digest.histories.get(document, ()))
            for payment in digest.payments.get(document, ()):
                events[contract] += len(digest.histories.get(payment, ()))
    contract = min(events, key=lambda c: (-events[c], c))
    return contract, "the contract with the most events in the trace (no mismatch puts money at stake)"


def build_timeline(contract: str, why: str, mismatches: list[MismatchRecord], digest: TraceDigest,
                   links: dict[str, str]) -> Timeline:
    happenings: list[Happening] = list(digest.histories.get(contract, ()))
    for entity, owner in sorted(links.items()):
        if owner == contract:
            happenings.extend(digest.histories.get(entity, ()))
    documents = list(dict.fromkeys(digest.documents.get(contract, ())))  # drafted once; kept in drafting order
    for document in documents:
        happenings.extend(digest.histories.get(document, ()))
        for payment in digest.payments.get(document, ()):
            happenings.extend(digest.histories.get(payment, ()))
    happenings.extend(digest.billing_runs)
    entries = []
    for happening in sorted(happenings, key=lambda h: (h.t, LANES.index(wording(h.type)[0]), h.entity, h.type)):
        lane, what = wording(happening.type)
        if happening.type == PAYMENT:
            what = f"{what} for {digest.paid[happening.entity]}"
        entries.append(TimelineEntry(happening.t, lane, what, happening.entity))
    own = [m for m in mismatches if contract_of(m) == contract]
    money: dict[str, int] = defaultdict(int)
    for mismatch in own:
        if mismatch.currency:
            money[mismatch.currency] += mismatch.money_at_stake
    billed = [_document(document, contract, digest) for document in documents]
    tied = sum(1 for owner in links.values() if owner == contract)
    scope = ("Its own events come from the trace; approvals, charges and write-backs only for the "
             f"{tied} charges, timesheets, expenses and milestones its mismatches' lineage names"
             if tied else "Its own events come from the trace; no mismatch's lineage names its charges, "
                          "so their approvals, charges and write-backs cannot be tied to it")
    paid = sum(len(d.payments) for d in billed)
    scope += ("; its invoices and credit notes are those whose charges' lineage names it, as the trace records "
              "each one's drafting, and its payments those recorded against them"
              + (f" ({len(billed)} documents, {paid} payments)" if billed else
                 " (the trace has none: nothing billed it, or the trace predates these records)")
              + "; billing runs are the firm's.")
    return Timeline(contract, why, entries, billed, sorted(own, key=_by_money), dict(sorted(money.items())), scope)


def _document(document: str, contract: str, digest: TraceDigest) -> BilledDocument:
    history = digest.histories.get(document, ())
    kind = "credit note" if any(h.type.startswith("erp.credit_note.") for h in history) else "invoice"
    posted = next((h.t for h in history if h.type.endswith(".posted")), None)
    disputed = tuple(h.t for h in history if h.type == "erp.invoice.disputed")
    payments = tuple((payment, h.t) for payment in digest.payments.get(document, ())
                     for h in digest.histories.get(payment, ()))
    others = tuple(c for c in digest.bills.get(document, ()) if c != contract)
    return BilledDocument(document, kind, posted, disputed, payments, others)


def _by_money(mismatch: MismatchRecord) -> tuple[Any, ...]:
    return -mismatch.money_at_stake, mismatch.rule, mismatch.item
