"""SYNC: what reaches the connector is in the ERP and the PSA within the hour, crashes or not.

The lag is measured by :mod:`simulator.sync_lag` from the run's own records:
per source change (an account created or updated, a contract signed, an
approval, a timesheet re-opened), how long the record it names (the ERP
customer, billing project, PSA project, a charge citing the approval, the
reversal of the withdrawn approval's charges) was missing or wrong, counted
from the moment the change's webhook reached a running connector, and again
from the restart when the connector went down within that hour. It is
judged on a day without faults and under crashes, kills and a downtime. A
change whose webhook never reached the connector is C2C-RECON-002's: the
change feed may take longer.
"""

from __future__ import annotations

from conformance.checks.evidence import Evidence, not_shown
from conformance.checks.registry import CheckContext, check
from conformance.findings import Finding
from conformance.observation import Observation, simulate_command
from mocks.core.clock import iso
from simulator.sync_lag import NEVER, Lag, measure, targets_of

WITHIN_MIN = 60
FAULT_FREE, CRASHES = "billing.yaml", "crashes.yaml"


def lags(observation: Observation) -> list[Lag]:
    """Every (source change, record) pair of the run, measured against the stated bound."""
    result = observation.result
    return measure(result.sync, targets_of(result.systems.erp, result.systems.psa), WITHIN_MIN * 60)


def minutes(seconds: float) -> str:
    return f"{seconds / 60:,.0f} min" if seconds < 5 * 3600 else f"{seconds / 3600:,.1f} h"


def late_finding(lag: Lag, scenario: str) -> Finding:
    """The record, when the source changed, when the record was in line (or never), and the lag."""
    change = lag.change
    after = "" if lag.ended_at == NEVER else f", {minutes(lag.seconds)} after"
    restarts = f"; clock restarted at {iso(lag.anchor)} ({'; '.join(d.what for d in lag.restarts)})" \
        if lag.restarts else ""
    return Finding(lag.entity, f"in line within {WITHIN_MIN} min of {iso(lag.anchor)}", f"{lag.words()}{after}",
                   detail=f"[sync_lag] {scenario}: {change.type} {change.entity} v{change.version} at {iso(change.at)}, "
                          f"reached the connector at {iso(lag.reached_at)}{restarts}; "
                          f"lag {'never ended' if lag.ended_at == NEVER else minutes(lag.seconds)}")


def late_findings(late: list[Lag], scenario: str) -> list[Finding]:
    """One finding per late record, the longest lag first (never in line leads), then in the run's order."""
    return [late_finding(lag, scenario) for lag in sorted(late, key=lambda lag: (-lag.seconds, lag.change.order))]


@check("C2C-SYNC-001")
def in_line_within_the_hour(ctx: CheckContext) -> Evidence:
    evidence = Evidence()
    late_total, judged_total, longest = 0, 0, None
    for name in (FAULT_FREE, CRASHES):
        run = ctx.observations.of(name)
        judged = [lag for lag in lags(run) if lag.delivered]
        late = [lag for lag in judged if lag.late(WITHIN_MIN * 60)]
        if not judged:
            evidence.findings.append(not_shown(f"source changes in {name}",
                                               f"no source change reached the connector in {name}"))
            continue
        evidence.findings += late_findings(late, name)
        if late and name != CRASHES:
            evidence.reproduce.append(simulate_command(run.scenario_path, ctx.seed, ctx.subject))
        late_total, judged_total = late_total + len(late), judged_total + len(judged)
        worst = max(late, key=lambda lag: lag.seconds, default=None)
        if worst is not None and (longest is None or worst.seconds > longest.seconds):
            longest = worst
    if longest is not None:
        evidence.summary = (f"{late_total} of {judged_total} records were missing or wrong in the ERP or PSA for "
                            f"more than {WITHIN_MIN} min after their source change reached the connector (longest: "
                            f"{longest.entity}, "
                            f"{'never in line' if longest.ended_at == NEVER else minutes(longest.seconds)})")
    return evidence
