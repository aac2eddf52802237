"""LOAD: at a stated event rate, the connector loses nothing and keeps its lag bounded.

C2C-LOAD-001 is the simulated firm's peak, throttled while approvals flow.
C2C-LOAD-002 is a real load over HTTP (:mod:`simulator.load`, black-box
connectors only): locust's consultants and managers submit and approve
timesheets at the stated rate, in real time; the rate reached is measured,
and a run that fell short of 90% of it shows nothing.

The rate is measured, not assumed: the check counts the webhooks the
connector was offered in each simulated hour and fails the run as not
shown if the peak fell short of the statement. Throttling is measured too:
the peak approval hours are the simulated hours with at least half as many
billable approvals as the busiest one, and unless some system answered the
connector a 429 in one of them, the run did not show how the connector
copes with throttling while approvals flow (a limit that binds only during
the billing run or a reconciliation does not), and fails as not shown.
Lag is measured from each billable approval in the PSA to the first ERP
charge citing it.
"""

from __future__ import annotations

from collections import Counter

from conformance.checks.evidence import (
    Evidence,
    billable_approvals,
    first_charges,
    lag_words,
    minutes_between,
    not_shown,
)
from conformance.checks.registry import CheckContext, check
from conformance.findings import Finding
from conformance.observation import Observation
from simulator.kpis import epoch_seconds

LOAD = "load.yaml"
LOADED = "approvals_under_load.yaml"
RATE_SHOWN = 0.9  # the share of the stated approval rate a load run must reach to show anything
PEAK_PER_HOUR = 250
P95_MINUTES = 60
PEAK_APPROVAL_SHARE = 0.5  # a peak approval hour has at least this share of the busiest hour's approvals


def peak_approval_hours(run: Observation) -> list[int]:
    """The simulated hours (since the epoch) with at least half as many billable approvals as the busiest one."""
    per_hour = Counter(int(epoch_seconds(a["approved_at"]) // 3600) for a in billable_approvals(run))
    busiest = max(per_hour.values(), default=0)
    return sorted(hour for hour, n in per_hour.items() if n >= busiest * PEAK_APPROVAL_SHARE)


@check("C2C-LOAD-001")
def bounded_lag(ctx: CheckContext) -> Evidence:
    return lag_under_load(ctx.observations.of(LOAD))


def lag_under_load(run: Observation) -> Evidence:
    """The evidence of one run of the load scenario: mismatches, the rate and throttling not shown, the p95 lag."""
    findings = [Finding.of(m) for m in run.result.reconciliation.mismatches]
    peak = max(run.offered_per_hour.values(), default=0)
    if peak < PEAK_PER_HOUR:
        findings.append(Finding("scenario:peak_webhooks_per_hour", f">= {PEAK_PER_HOUR}", peak,
                                detail="the scenario did not reach the stated rate; nothing was shown"))
    hours = peak_approval_hours(run)
    throttled = sum(run.throttled_per_hour[hour] for hour in hours)
    if not throttled:
        findings.append(Finding("scenario:429s_in_peak_approval_hours", ">= 1", 0,
                                detail=f"no system answered the connector a 429 in the {len(hours)} peak approval "
                                       f"hour(s) ({sum(run.throttled_per_hour.values())} 429s in the whole run): "
                                       "throttling did not bind while approvals flowed; nothing was shown"))
    charged = first_charges(run)
    lags = sorted(minutes_between(a["approved_at"], charged.get(a["approval_id"])) for a in billable_approvals(run))
    p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))] if lags else float("inf")
    if p95 > P95_MINUTES:
        late = sum(1 for lag in lags if lag > P95_MINUTES)
        findings.append(Finding("psa:approval_to_erp_charge/p95", f"<= {P95_MINUTES} min", lag_words(p95),
                                detail=f"over {len(lags)} billable approvals, {late} later than {P95_MINUTES} min; "
                                       f"peak {peak} webhooks in one hour, {throttled} 429s in the peak approval "
                                       "hours"))
    summary = (f"peak {peak} webhooks/h, {throttled} 429s in the {len(hours)} peak approval hours, "
               f"approval-to-charge p95 {lag_words(p95)} (bound {P95_MINUTES} min)")
    return Evidence(findings, summary, claimed=list(run.result.reconciliation.mismatches))


@check("C2C-LOAD-002")
def stated_rate(ctx: CheckContext) -> Evidence:
    run, outcome = ctx.observations.loaded(LOADED)
    return rate_under_load(run, outcome, ctx.observations.load_target)


def rate_under_load(run: Observation, outcome, target) -> Evidence:
    """The evidence of one load run: mismatches, the rate not reached, approvals never charged, the p95 lag."""
    findings = [Finding.of(m) for m in run.result.reconciliation.mismatches]
    totals, lag = outcome.totals, outcome.lag
    reached = outcome.approvals_per_s()
    stated = f"{target.rate_per_s:g} approvals/s for {target.duration_s:g} s"
    if totals is None or not totals.requests:
        findings.append(not_shown("load", "locust made no request (see locust.master.log in the run's folder)"))
    elif reached < RATE_SHOWN * target.rate_per_s:
        findings.append(Finding("load:approvals_per_s", f">= {RATE_SHOWN * target.rate_per_s:g}", reached,
                                detail=f"the load reached {reached:g} of the stated {stated}; nothing was shown"))
    if lag.get("missing"):
        findings.append(Finding("psa:approval_to_erp_charge/missing", 0, lag["missing"],
                                detail=f"{lag['missing']} of {lag['approvals']} billable approvals had no ERP charge "
                                       "when the connector had drained (or the drain timed out)"))
    p95 = lag.get("p95_s")
    if p95 is not None and p95 > target.p95_s:
        growth = " → ".join(f"{g['p95_s']:g}" for g in lag["growth"] if g["p95_s"] is not None)
        findings.append(Finding("psa:approval_to_erp_charge/p95", f"<= {target.p95_s:g} s", f"{p95:g} s",
                                detail=f"at {reached:g} approvals/s; p95 by sixth of the window: {growth} s"))
    summary = (f"stated {stated}; reached {reached:g}/s over {lag.get('approvals', 0)} billable approvals; "
               f"approval-to-charge p50 {lag.get('p50_s')} s, p95 {p95} s, p99 {lag.get('p99_s')} s")
    return Evidence(findings, summary, claimed=list(run.result.reconciliation.mismatches))
