"""KPIs of one run, derived from the systems' final state.

Every figure is computed from ground truth (mock state, simulated
timestamps), never from what the connector says about itself. Floats are
rounded to fixed places so that ``kpis.json`` is byte-identical per seed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from mocks.systems import Systems
from simulator.oracle import Reconciliation
from simulator.truth import GroundTruth
from simulator.valuation import Valuer, item_of

SCHEMA_VERSION = "1.2"  # 1.1 added reconciliation.late_invoices, invoices.credit_notes, connector_errors_by_kind;
# 1.2 added ledger.write_offs, ledger.hours_written_off


def epoch_seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def percentiles(values: list[float]) -> dict[str, Any]:
    """Nearest-rank p50/p95 (exact values from the sample, no interpolation)."""
    if not values:
        return {"count": 0, "p50": None, "p95": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))
        return round(ordered[int(index)], 2)

    return {"count": len(ordered), "p50": rank(50), "p95": rank(95)}


def invoice_kpis(systems: Systems, truth: GroundTruth) -> dict[str, Any]:
    """Invoices posted, their cycle time and billing lag; credit notes apart.

    Cycle time runs from the approval an invoice line cites to the invoice's
    posting. Billing lag counts positive lines whose *work* (the source
    item's date in the PSA or CLM, not the charge date a connector chose)
    lies in an earlier period than the invoice's. A credit note (a run whose
    net for a project was negative) is nothing to be paid: it is counted in
    ``credit_notes`` only, never in the invoice figures.
    """
    erp, psa = systems.erp, systems.psa
    valuer = Valuer(systems, truth, with_approvals=False)
    approved_at = {a["approval_id"]: a["approved_at"] for a in psa.approvals}
    posted = [i for i in erp.invoices.values() if i.status == "posted" and i.document_type == "invoice"]
    credit_notes = [i for i in erp.invoices.values() if i.status == "posted" and i.document_type == "credit_note"]
    credit_totals: Counter = Counter()
    for note in credit_notes:
        credit_totals[note.currency] += note.total
    cycle_hours, lag, lines, positive = [], 0, 0, 0
    totals: Counter = Counter()
    counts: Counter = Counter()
    for invoice in posted:
        totals[invoice.currency] += invoice.total
        counts[invoice.currency] += 1
        for line in invoice.lines:
            lineage = line["lineage"]
            lines += 1
            if line["amount"] <= 0:
                continue  # reversals and credits: neither cycle time nor lag
            positive += 1
            approval = approved_at.get(lineage.get("approval_id"))
            if approval:
                cycle_hours.append((epoch_seconds(invoice.posted_at) - epoch_seconds(approval)) / 3600)
            item = item_of(lineage)
            source = valuer.value(item) if item else None
            if source is not None and source.date[:7] < invoice.period:
                lag += 1
    return {
        "count": len(posted),
        "lines": lines,
        "count_by_currency": dict(sorted(counts.items())),
        "total_by_currency": dict(sorted(totals.items())),
        "disputed": sum(1 for i in posted if i.disputes),
        "cycle_time_hours": percentiles(cycle_hours),
        "billing_lag": {"lines_invoiced_in_a_later_period": lag, "positive_lines": positive,
                        "share": round(lag / positive, 4) if positive else 0.0},
        "credit_notes": {
            "count": len(credit_notes),
            "count_by_currency": dict(sorted(Counter(c.currency for c in credit_notes).items())),
            "total_by_currency": dict(sorted(credit_totals.items())),  # negative: what was credited
        },
    }


def receivables_kpis(systems: Systems, start: dt.date, end: dt.date) -> dict[str, Any]:
    """DSO per currency over the simulated period, and how long customers took to pay.

    DSO = receivables open at the end of the period / amount invoiced in the
    period x days in the period (the standard formula), per currency, so yen
    and cents never mix. Invoices posted and payments received after the
    period (while the run settles) do not count, nor do credit notes: they
    are never paid, so they are neither billed nor open receivables here.
    """
    erp = systems.erp
    period_start, period_end = f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T00:00:00Z"
    paid_by_end: Counter = Counter()
    for payment in erp.payments.values():
        if payment.received_at < period_end:
            paid_by_end[payment.invoice_id] += payment.amount
    billed: Counter = Counter()
    open_at_end: Counter = Counter()
    for invoice in erp.invoices.values():
        if invoice.status == "posted" and invoice.document_type == "invoice" and period_start <= invoice.posted_at < period_end:
            billed[invoice.currency] += invoice.total
            open_at_end[invoice.currency] += invoice.total - paid_by_end[invoice.id]
    days = (end - start).days
    posted = [i for i in erp.invoices.values() if i.status == "posted" and i.document_type == "invoice"]
    days_to_pay = [(epoch_seconds(i.paid_at) - epoch_seconds(i.posted_at)) / 86400 for i in posted if i.paid_at]
    return {
        "dso_days": {c: round(open_at_end[c] / billed[c] * days, 2) for c in sorted(billed) if billed[c] > 0},
        "open_at_period_end": dict(sorted(open_at_end.items())),
        "invoices_paid": len(days_to_pay),
        "days_to_pay": percentiles(days_to_pay),
    }


def setup_kpis(systems: Systems) -> dict[str, Any]:
    clm, psa = systems.clm, systems.psa
    minutes = []
    for project in psa.projects.values():
        contract = clm.contracts.get(project.contract_ref)
        if contract is not None and contract.signed_at:
            minutes.append((epoch_seconds(project.created_at) - epoch_seconds(contract.signed_at)) / 60)
    signed = sum(1 for c in clm.contracts.values() if c.signed_at)
    return {"project_setup_minutes": percentiles(minutes), "contracts_signed": signed,
            "contracts_without_project": signed - len(minutes)}


def contract_kpis(systems: Systems) -> dict[str, Any]:
    clm = systems.clm
    signed = [c for c in clm.contracts.values() if c.signed_at]
    by_type = Counter(c.billing_type for c in signed)
    amendments = [a for a in clm.amendments.values() if a.status == "signed"]
    retro = sum(1 for a in amendments if any(e.effective_from < a.signed_at[:10] for e in a.rate_card))
    kinds: Counter = Counter()
    for a in amendments:
        kinds.update(k for k, v in (("rates", a.rate_card), ("cap", a.cap), ("end_date", a.end_date),
                                    ("milestones", a.milestone_amounts)) if v)
    return {"signed_by_billing_type": dict(sorted(by_type.items())), "amendments": len(amendments),
            "retro_amendments": retro, "amendments_by_change": dict(sorted(kinds.items()))}


def ledger_kpis(systems: Systems, truth: GroundTruth) -> dict[str, Any]:
    erp, psa = systems.erp, systems.psa
    holds = sum(1 for c in erp.charges.values() if c.created_held and c.amount > 0)
    releases = sum(1 for c in erp.charges.values() if c.released_at)
    post_invoice = 0
    for charge in erp.charges.values():
        original = erp.charges.get(charge.reversal_of) if charge.reversal_of else None
        if original is not None and original.invoice_id:
            posted_at = erp.invoices[original.invoice_id].posted_at
            if posted_at and posted_at <= charge.created_at:
                post_invoice += 1
    approvals_per_sheet = Counter(a["entity_id"] for a in psa.approvals if a["kind"] == "timesheet")
    reapproved = sum(1 for n in approvals_per_sheet.values() if n > 1)
    return {"cap_holds": holds, "cap_releases": releases, "post_invoice_adjustments": post_invoice,
            "reversals": sum(1 for c in erp.charges.values() if c.reversal_of),
            "timesheets_reapproved": reapproved, "write_offs": len(truth.write_offs),
            # quarter hours: exact as a float
            "hours_written_off": float(sum((w.hours - w.kept for w in truth.write_offs.values()), Decimal(0)))}


def first_charge_by_approval(erp) -> dict[str, str]:
    """Approval id -> when the ERP got the first charge citing it (charges are kept in creation order)."""
    first: dict[str, str] = {}
    for charge in erp.charges.values():
        approval = charge.lineage.get("approval_id")
        if approval and approval not in first:
            first[approval] = charge.created_at
    return first


def latency_kpis(systems: Systems) -> dict[str, Any]:
    """Sync latency per interface: source change to its ERP counterpart, in minutes."""
    crm, clm, erp, psa = systems.crm, systems.clm, systems.erp, systems.psa
    customer_created = {c.external_ref: c.created_at for c in erp.customers.values()}
    project_created = {p.contract_ref: p.created_at for p in erp.billing_projects.values()}
    first_charge = first_charge_by_approval(erp)
    approved_at = {a["approval_id"]: a["approved_at"] for a in psa.approvals}

    def minutes(pairs):
        return percentiles([(epoch_seconds(b) - epoch_seconds(a)) / 60 for a, b in pairs if a and b])

    return {
        "crm_account_to_erp_customer_minutes": minutes(
            (a.created_at, customer_created.get(a.id)) for a in crm.accounts.values()),
        "clm_contract_to_erp_billing_project_minutes": minutes(
            (c.signed_at, project_created.get(c.id)) for c in clm.contracts.values() if c.signed_at),
        "psa_approval_to_erp_charge_minutes": minutes(
            (approved_at[a], first_charge[a]) for a in first_charge if a in approved_at),
    }


def api_kpis(calls: Counter, systems: Systems) -> dict[str, Any]:
    """Calls the connector made per system, as the systems saw them (and as it saw failures).

    ``no_response`` counts timeouts and resets; ``early_retries`` counts
    requests that came before the ``Retry-After`` the system had given.
    """
    result = {}
    for system in systems.services:
        by_status = {status: n for (s, status), n in calls.items() if s == system}
        limiter = systems.services[system].rate_limiter
        result[system] = {
            "calls": sum(by_status.values()),
            "errors_4xx": sum(n for status, n in by_status.items() if 400 <= status < 500),
            "errors_5xx": sum(n for status, n in by_status.items() if status >= 500),
            "no_response": by_status.get(0, 0),
            "rate_limited_429": by_status.get(429, 0),
            "early_retries": sum(limiter.early.values()) if limiter else 0,
        }
    return result


def build_kpis(*, scenario_name: str, seed: int, start: dt.date, end: dt.date, systems: Systems,
               reconciliation: Reconciliation, truth: GroundTruth, calls: Counter, webhooks: Counter,
               wip: list[dict[str, Any]], consultants: int, connector_errors: int) -> dict[str, Any]:
    psa = systems.psa
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario_name,
        "seed": seed,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "reconciliation": reconciliation.to_json(),
        "invoices": invoice_kpis(systems, truth),
        "unbilled_wip": wip,
        "revenue_leakage": dict(sorted(reconciliation.leakage.items())),
        "over_billing": dict(sorted(reconciliation.over_billing.items())),
        "receivables": receivables_kpis(systems, start, end),
        "projects": setup_kpis(systems),
        "contracts": contract_kpis(systems),
        "ledger": ledger_kpis(systems, truth),
        "sync_latency": latency_kpis(systems),
        "api_calls": api_kpis(calls, systems),
        "webhooks": dict(sorted(webhooks.items())),
        "connector_errors": connector_errors,
        "firm": {
            "consultants": consultants,
            "accounts": len(systems.crm.accounts),
            "contracts": len(systems.clm.contracts),
            "timesheets": len(psa.timesheets),
            "timesheets_approved": sum(1 for t in psa.timesheets.values() if t.status == "approved"),
            "timesheets_rejected_at_least_once": len({r["timesheet_id"] for r in psa.rejections}),
        },
    }
