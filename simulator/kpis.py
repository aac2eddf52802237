"""KPIs of one run (DESIGN §9), derived from the systems' final state.

Every figure is computed from ground truth (mock state, simulated
timestamps), never from what the connector says about itself. Floats are
rounded to fixed places so that ``kpis.json`` is byte-identical per seed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from simulator.oracle import Reconciliation
from simulator.systems import SYSTEMS, Systems

SCHEMA_VERSION = "1.0"


def _ts(iso: str) -> float:
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


def invoice_kpis(systems: Systems) -> dict[str, Any]:
    erp, psa = systems.erp, systems.psa
    approved_at = {a["approval_id"]: a["approved_at"] for a in psa.approvals}
    posted = [i for i in erp.invoices.values() if i.status == "posted"]
    cycle_hours, lag, lines = [], 0, 0
    totals: Counter = Counter()
    for invoice in posted:
        totals[invoice.currency] += invoice.total
        for line in invoice.lines:
            lineage = line["lineage"]
            approval = approved_at.get(lineage.get("approval_id"))
            if approval:
                cycle_hours.append((_ts(invoice.posted_at) - _ts(approval)) / 3600)
            lines += 1
            if line["charge_date"][:7] < invoice.period:
                lag += 1
    return {
        "count": len(posted),
        "lines": lines,
        "total_by_currency": dict(sorted(totals.items())),
        "cycle_time_hours": percentiles(cycle_hours),
        "billing_lag": {"lines_invoiced_in_a_later_period": lag,
                        "share": round(lag / lines, 4) if lines else 0.0},
    }


def receivables_kpis(systems: Systems, days_in_run: int) -> dict[str, Any]:
    erp = systems.erp
    posted = [i for i in erp.invoices.values() if i.status == "posted"]
    billed = sum(i.total for i in posted)
    open_ar = sum(i.total - i.amount_paid for i in posted)
    days_to_pay = [(_ts(i.paid_at) - _ts(i.posted_at)) / 86400 for i in posted if i.paid_at]
    return {
        "dso_days": round(open_ar / billed * days_in_run, 2) if billed else None,
        "open_receivables": open_ar,
        "invoices_paid": len(days_to_pay),
        "days_to_pay": percentiles(days_to_pay),
    }


def setup_kpis(systems: Systems) -> dict[str, Any]:
    clm, psa = systems.clm, systems.psa
    minutes = []
    for project in psa.projects.values():
        contract = clm.contracts.get(project.contract_ref)
        if contract is not None and contract.signed_at:
            minutes.append((_ts(project.created_at) - _ts(contract.signed_at)) / 60)
    signed = sum(1 for c in clm.contracts.values() if c.signed_at)
    return {"project_setup_minutes": percentiles(minutes), "contracts_signed": signed,
            "contracts_without_project": signed - len(minutes)}


def api_kpis(calls: Counter) -> dict[str, Any]:
    result = {}
    for system in SYSTEMS:
        by_status = {status: n for (s, status), n in calls.items() if s == system}
        result[system] = {
            "calls": sum(by_status.values()),
            "errors_4xx": sum(n for status, n in by_status.items() if 400 <= status < 500),
            "errors_5xx": sum(n for status, n in by_status.items() if status >= 500),
            "rate_limited_429": by_status.get(429, 0),
        }
    return result


def build_kpis(*, scenario_name: str, seed: int, start: dt.date, end: dt.date, systems: Systems,
               reconciliation: Reconciliation, calls: Counter, webhooks: Counter,
               wip: list[dict[str, Any]], consultants: int, connector_errors: int) -> dict[str, Any]:
    psa = systems.psa
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario_name,
        "seed": seed,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "reconciliation": reconciliation.to_json(),
        "invoices": invoice_kpis(systems),
        "unbilled_wip": wip,
        "revenue_leakage": dict(sorted(reconciliation.leakage.items())),
        "over_billing": dict(sorted(reconciliation.over_billing.items())),
        "receivables": receivables_kpis(systems, (end - start).days),
        "projects": setup_kpis(systems),
        "api_calls": api_kpis(calls),
        "webhooks": dict(sorted(webhooks.items())),
        "connector_errors": connector_errors,
        "firm": {
            "consultants": consultants,
            "accounts": len(systems.crm.accounts),
            "contracts": len(systems.clm.contracts),
            "timesheets": len(psa.timesheets),
            "timesheets_approved": sum(1 for t in psa.timesheets.values() if t.status == "approved"),
            "timesheets_rejected_at_least_once": sum(1 for t in psa.timesheets.values() if t.version > 1),
        },
    }
