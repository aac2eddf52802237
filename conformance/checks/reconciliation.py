"""RECON: after the storm the ERP equals the oracle; lost webhooks and expired cursors are recovered; drift repaired."""

from __future__ import annotations

from conformance.catalog import BY_ID
from conformance.checks.evidence import (
    INVOICING_RULES,
    Evidence,
    billable_approvals,
    first_charges,
    minutes_between,
    oracle_findings,
    unless_shown,
)
from conformance.checks.registry import CheckContext, check, survives
from conformance.findings import Finding

DROPPED_WITHIN_H = BY_ID["C2C-RECON-002"].timer_bound_h
APPROVED = "psa.timesheet.approved"


@check("C2C-RECON-001")
def after_the_storm(ctx: CheckContext) -> Evidence:
    """Absolute, as the statement says: every mismatch of the ledger counts, whatever caused it. When the
    charges reach invoices is C2C-BILL-009's question, asked on a day without faults."""
    return oracle_findings(ctx.observations.of("fault_storm.yaml"), where=lambda m: m.rule not in INVOICING_RULES)


def charged_words(hours: float) -> str:
    """When an approval was charged, as a finding reads it: "charged after 5.9 h", or "never charged"."""
    return "never charged" if hours == float("inf") else f"charged after {hours:.1f} h"


@check("C2C-RECON-002")
def dropped_webhooks_recovered(ctx: CheckContext) -> Evidence:
    """Every billable approval whose webhook was dropped, or failed every retry, is charged within 24 h."""
    run = ctx.observations.of("dropped_webhooks.yaml")
    lost = {(r["entity"], r["version"]) for r in run.faults("webhook_drop") if r["type"] == APPROVED}
    lost |= {(r["entity"], r["version"]) for r in run.records
             if r["kind"] == "webhook_failed" and r["type"] == APPROVED}
    charged = first_charges(run)
    late = []
    worst = None
    for approval in billable_approvals(run):
        if (approval["entity_id"], approval["version"]) not in lost:
            continue
        hours = minutes_between(approval["approved_at"], charged.get(approval["approval_id"])) / 60
        worst = hours if worst is None else max(worst, hours)
        if hours > DROPPED_WITHIN_H:
            late.append(Finding(f"psa:approval/{approval['approval_id']}", f"charged within {DROPPED_WITHIN_H} h",
                                charged_words(hours),
                                detail=f"timesheet {approval['entity_id']} v{approval['version']}: its webhook "
                                       "never arrived"))
    evidence = survives(ctx, "dropped_webhooks.yaml")
    evidence.findings[:0] = late
    if worst is not None:
        measured = (f"the slowest billable approval whose webhook never arrived was {charged_words(worst)} "
                    f"(bound {DROPPED_WITHIN_H} h)")
        evidence.summary = "; ".join(filter(None, [measured, evidence.summary]))
    return unless_shown(bool(lost), "approvals whose webhook never arrived", "no approval webhook was lost", evidence)


@check("C2C-RECON-003")
def cursor_expired(ctx: CheckContext) -> Evidence:
    evidence = survives(ctx, "feed_retention.yaml")
    gone = ctx.observations.of("feed_retention.yaml").responses(410)
    return unless_shown(gone > 0, "a 410 from a change feed", "no feed cursor of the connector expired", evidence)


@check("C2C-RECON-004")
def drift_repaired(ctx: CheckContext) -> Evidence:
    return survives(ctx, "drift.yaml")
