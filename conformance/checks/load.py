"""LOAD: at a stated event rate the connector loses nothing and keeps its lag bounded.

The rate is measured, not assumed: the check counts the webhooks the
connector was offered in each simulated hour and fails the run as not
shown if the peak fell short of the statement. Lag is measured from each
billable approval in the PSA to the first ERP charge citing it.
"""

from __future__ import annotations

from conformance.checks.evidence import Evidence, billable_approvals, first_charges, minutes_between
from conformance.checks.registry import CheckContext, check
from conformance.findings import Finding

LOAD = "load.yaml"
PEAK_PER_HOUR = 250
P95_MINUTES = 60


@check("C2C-LOAD-001")
def bounded_lag(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(LOAD)
    findings = [Finding.of(m) for m in run.result.reconciliation.mismatches]
    peak = max(run.offered_per_hour.values(), default=0)
    if peak < PEAK_PER_HOUR:
        findings.append(Finding("scenario:peak_webhooks_per_hour", f">= {PEAK_PER_HOUR}", peak,
                                detail="the scenario did not reach the stated rate; nothing was shown"))
    charged = first_charges(run)
    lags = sorted(minutes_between(a["approved_at"], charged.get(a["approval_id"])) for a in billable_approvals(run))
    p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))] if lags else float("inf")
    if p95 > P95_MINUTES:
        findings.append(Finding("psa:approval_to_erp_charge/p95", f"<= {P95_MINUTES} min", f"{p95:.0f} min",
                                detail=f"over {len(lags)} billable approvals; peak {peak} webhooks in one hour"))
    return Evidence(findings, f"peak {peak} webhooks/h, approval-to-charge p95 {p95:.0f} min" if findings else "")
