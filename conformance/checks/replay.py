"""REPLAY: poison set aside without blocking, convergence after the fix, crash and restart (end state and lag)."""

from __future__ import annotations

from conformance.checks.evidence import (
    Evidence,
    billable_approvals,
    black_box_only,
    counterexample,
    first_charges,
    lag_words,
    minutes_between,
    not_shown,
    unless_shown,
)
from conformance.checks.registry import CheckContext, check, survives
from conformance.checks.sync import WITHIN_MIN, lags, late_findings
from conformance.findings import Finding
from conformance.observation import Observation
from conformance.schedules import crash_schedules
from conformance.verdict import Profile
from simulator.sync_lag import Lag

UNBLOCKED_MAX_MIN = 240
CRASH_EXAMPLES = 25
CRASHES = "crashes.yaml"
KILL_POINTS = {"after_write": "right after a committed write", "after_ack": "after an acknowledged delivery"}


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
    lags = healthy_lags(ctx.observations.of("poison.yaml"))
    waited = [lag for lag in lags if lag > UNBLOCKED_MAX_MIN]
    evidence = Evidence()
    if waited:
        never = sum(1 for lag in waited if lag == float("inf"))
        late = [lag for lag in waited if lag != float("inf")]
        got = ", ".join(filter(None, [f"{never} {lag_words(float('inf'))}" if never else "",
                                      f"{len(late)} waited longer, up to {lag_words(max(late))}" if late else ""]))
        evidence = Evidence([Finding("healthy_items:source_to_erp", f"<= {UNBLOCKED_MAX_MIN} min", got,
                                     detail=f"of {len(lags)} contract set-ups and approvals no poison touches")],
                            "work that has nothing to do with the poison messages waited behind them")
    return unless_shown(bool(lags), "healthy contract set-ups and approvals", "the scenario had none", evidence)


@check("C2C-REPLAY-002")
def replay_after_fix(ctx: CheckContext) -> Evidence:
    return survives(ctx, "poison.yaml")


def unfinished_at_a_crash(observation: Observation) -> list[Lag]:
    """Changes the connector had been sent before it went down, not yet in line then, nor within the hour after.

    The lags of :func:`conformance.checks.sync.lags` that a crash, kill or
    downtime struck (after the change's webhook reached the connector,
    before its record was in line) and that ended late: the clock restarts
    at the restart, so these are changes the restarted connector did not
    finish within :data:`~conformance.checks.sync.WITHIN_MIN` minutes, or ever.
    """
    return [lag for lag in lags(observation) if lag.delivered and lag.struck and lag.late(WITHIN_MIN * 60)]


@check("C2C-REPLAY-003")
def crash_restart(ctx: CheckContext) -> Evidence:
    """The crash scenario's end state and every change a crash interrupted, then (``full`` profile) hypothesis's
    search for a kill instant that costs money."""
    run = ctx.observations.of(CRASHES)
    evidence = survives(ctx, CRASHES)
    unfinished = unfinished_at_a_crash(run)
    if unfinished:
        evidence.findings[:0] = late_findings(unfinished, CRASHES)
        lost = (f"{len(unfinished)} record(s) the connector had been sent before it went down were not in line "
                f"within {WITHIN_MIN} min of its restart")
        evidence.summary = "; ".join(filter(None, [lost, evidence.summary]))
    landed = {record.get("point") for record in run.faults("process_killed")}
    evidence.findings += [not_shown(f"a kill {words}", f"no kill landed {words} in {CRASHES}")
                          for point, words in KILL_POINTS.items() if point not in landed]
    if evidence.findings or ctx.profile is not Profile.FULL:
        return evidence
    if ctx.subject.black_box:
        return black_box_only(evidence, "the search of kill instants")
    found = crash_schedules(ctx.subject.factory, ctx.seed, CRASH_EXAMPLES,
                            ctx.observations.scenario_file("small_firm.yaml"))
    if found is None:
        return Evidence()
    return counterexample(found, ctx.seed, ctx.subject, "C2C-REPLAY-003", "kills after committed calls",
                          ctx.artifacts / "counterexamples")
