"""TRACE: every charge cites its source and approval; every billed item is written back to the PSA."""

from __future__ import annotations

from conformance.checks.evidence import Evidence, oracle_findings, unless_shown
from conformance.checks.registry import CheckContext, check

BILLING = "billing.yaml"


@check("C2C-TRACE-001")
def lineage(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), ("lineage", "orphan_charge"))


@check("C2C-TRACE-002")
def write_back(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    billed = any(i.status == "posted" and any(line["amount"] > 0 for line in i.lines)
                 for i in run.result.systems.erp.invoices.values())
    return unless_shown(billed, "posted invoices billing work", "no posted invoice carried a positive line",
                        oracle_findings(run, ("billing_writeback",)))
