"""IDEMP, ORDER, REPLAY and RECON: does the ERP stay right when the world misbehaves?

Each check runs its requirement's scenario and holds against the connector
only what that scenario's faults broke (:func:`caused_by_faults`), except
C2C-RECON-001, whose statement is absolute: after the storm, the ERP equals
the oracle. Time-bound requirements also measure simulated time, from the
approval in the PSA to the first ERP charge that cites it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from conformance.checks.ordering import shrunk
from conformance.checks.registry import CheckContext, Evidence, caused_by_faults, check, oracle_findings
from conformance.findings import Finding
from conformance.observation import Observation
from conformance.schedules import crash_schedules
from conformance.verdict import Profile

DROPPED_WITHIN_H = 24
CRASH_EXAMPLES = 25
UNBLOCKED_MAX_MIN = 240
APPROVED = "psa.timesheet.approved"


def _ts(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def minutes_between(start: str, end: str | None) -> float:
    """Simulated minutes from ``start`` to ``end``; infinite when ``end`` never happened."""
    return (_ts(end) - _ts(start)) / 60 if end else float("inf")


def first_charges(observation: Observation) -> dict[str, str]:
    """Approval id -> when the ERP got the first charge citing it."""
    first: dict[str, str] = {}
    for charge in observation.result.systems.erp.charges.values():
        approval = charge.lineage.get("approval_id")
        if approval and (approval not in first or charge.created_at < first[approval]):
            first[approval] = charge.created_at
    return first


def billable_approvals(observation: Observation) -> Iterable[dict]:
    """Timesheet approvals of a version with billable hours: each should reach the ERP as charges."""
    psa = observation.result.systems.psa
    for approval in psa.approvals:
        if approval["kind"] != "timesheet":
            continue
        sheet = psa.timesheets[approval["entity_id"]]
        if sheet.version == approval["version"] and sheet.status == "approved" \
                and any(line.billable and line.hours > 0 for line in sheet.lines):
            yield approval


@check("C2C-IDEMP-001")
def duplicates(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "duplicates.yaml")


@check("C2C-IDEMP-002")
def lost_responses(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "lost_responses.yaml")


@check("C2C-IDEMP-003")
def replay_from_cursor_zero(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "replay_all.yaml")


@check("C2C-ORDER-002")
def stale_versions(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "stale_versions.yaml")


@check("C2C-ORDER-003")
def children_first(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "children_first.yaml")


def healthy_lags(observation: Observation) -> list[float]:
    """Minutes from each source change to its ERP counterpart, for every item no poison record touches.

    Two kinds of message are timed: a signed contract until its billing
    project exists, and a billable approval until its first charge. Items
    of a contract with poisoned data (an unknown role, a customer with no
    tax profile, a mistyped project) are left out: those may rightly wait
    for the fix. Everything else must not wait for them.
    """
    systems = observation.result.systems
    bad_accounts = {r["account"] for r in observation.faults("poison_missing_tax_profile")}
    bad_contracts = {r["contract"] for r in observation.faults("poison_unknown_role")}
    bad_contracts |= {r["contract"] for r in observation.faults("poison_unknown_project")}
    bad_projects = {r["project"] for r in observation.faults("poison_unknown_project")}
    bad_contracts |= {c.id for c in systems.clm.contracts.values() if c.account_id in bad_accounts}
    project_created = {p.contract_ref: p.created_at for p in systems.erp.billing_projects.values()}
    lags = [minutes_between(c.signed_at, project_created.get(c.id))
            for c in systems.clm.contracts.values() if c.signed_at and c.id not in bad_contracts]
    charged = first_charges(observation)
    for approval in billable_approvals(observation):
        lines = systems.psa.timesheets[approval["entity_id"]].lines
        if any(line.project_id in bad_projects or systems.psa.projects[line.project_id].contract_ref in bad_contracts
               for line in lines):
            continue
        lags.append(minutes_between(approval["approved_at"], charged.get(approval["approval_id"])))
    return lags


@check("C2C-REPLAY-001")
def poison_does_not_block(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of("poison.yaml")
    lags = healthy_lags(run)
    if not run.result.fault_counts or not lags:
        return Evidence([Finding("scenario", "poison messages and healthy work", 0, detail="nothing was shown")])
    waited = [lag for lag in lags if lag > UNBLOCKED_MAX_MIN]
    if not waited:
        return Evidence()
    return Evidence([Finding("healthy_items:source_to_erp", f"<= {UNBLOCKED_MAX_MIN} min",
                             f"{len(waited)} waited longer, up to {max(waited):.0f} min",
                             detail=f"of {len(lags)} contract set-ups and approvals no poison touches")],
                    "work that has nothing to do with the poison messages waited behind them")


@check("C2C-REPLAY-002")
def replay_after_fix(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "poison.yaml")


@check("C2C-REPLAY-003")
def crash_restart(ctx: CheckContext) -> Evidence:
    """The crash scenario, then (``full`` profile) hypothesis's search for a kill instant that costs money."""
    evidence = caused_by_faults(ctx, "crashes.yaml")
    if evidence.findings or ctx.profile is not Profile.FULL:
        return evidence
    found = crash_schedules(ctx.subject.factory, ctx.seed, CRASH_EXAMPLES)
    return Evidence() if found is None else shrunk(ctx, "C2C-REPLAY-003", found, "kills after committed calls")


@check("C2C-RECON-001")
def after_the_storm(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of("fault_storm.yaml"))


@check("C2C-RECON-002")
def dropped_webhooks_recovered(ctx: CheckContext) -> Evidence:
    """Every billable approval whose webhook was dropped, or failed every retry, is charged within 24 h."""
    run = ctx.observations.of("dropped_webhooks.yaml")
    lost = {(r["entity"], r["version"]) for r in run.faults("webhook_drop") if r["type"] == APPROVED}
    lost |= {(r["entity"], r["version"]) for r in run.records
             if r["kind"] == "webhook_failed" and r["type"] == APPROVED}
    charged = first_charges(run)
    findings = []
    for approval in billable_approvals(run):
        if (approval["entity_id"], approval["version"]) not in lost:
            continue
        hours = minutes_between(approval["approved_at"], charged.get(approval["approval_id"])) / 60
        if hours > DROPPED_WITHIN_H:
            findings.append(Finding(f"psa:approval/{approval['approval_id']}", f"charged within {DROPPED_WITHIN_H} h",
                                    "never charged" if hours == float("inf") else f"charged after {hours:.1f} h",
                                    detail=f"timesheet {approval['entity_id']} v{approval['version']}: its webhook "
                                           "never arrived"))
    evidence = caused_by_faults(ctx, "dropped_webhooks.yaml")
    evidence.findings[:0] = findings
    if not lost:
        evidence.findings.append(Finding("scenario", "approvals with lost webhooks", 0,
                                         detail="the scenario lost no approval webhook; nothing was shown"))
    return evidence


@check("C2C-RECON-003")
def cursor_expired(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "feed_retention.yaml")


@check("C2C-RECON-004")
def drift_repaired(ctx: CheckContext) -> Evidence:
    return caused_by_faults(ctx, "drift.yaml")
