"""RATE: the connector waits as long as each system asked it to.

Every mock's rate limiter counts requests that came from a client before
the ``Retry-After`` it had been given (``early_retries``): an honest count
of the systems' own view, not a guess from the connector's logs. What
the throttling cost is judged as for every fault requirement: mismatches
the fault-free companion run does not have.
"""

from __future__ import annotations

from conformance.checks.evidence import Evidence, combined, unless_shown
from conformance.checks.registry import CheckContext, check, survives
from conformance.findings import Finding

RATE_LIMITS = "rate_limits.yaml"


@check("C2C-RATE-001")
def honours_retry_after(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(RATE_LIMITS)
    calls = run.result.kpis["api_calls"]
    findings = [Finding(f"{system}:early_retries", 0, counts["early_retries"],
                        detail=f"requests sent before the Retry-After {system} had given (it throttled "
                               f"{counts.get('rate_limited_429', 0):,} of the connector's {counts.get('calls', 0):,} "
                               "calls with a 429)")
                for system, counts in sorted(calls.items())
                if isinstance(counts, dict) and counts.get("early_retries", 0) > 0]
    throttled = sum(c.get("rate_limited_429", 0) for c in calls.values() if isinstance(c, dict))
    # the headline only says what the findings show: early requests, or (below) that nothing was throttled
    evidence = Evidence(findings, "requests arrived before the Retry-After the system had given" if findings else "")
    # and what the throttling cost: mismatches only the throttled run has (or that no fault-free requirement claims)
    return unless_shown(throttled > 0, "throttled calls", "no system throttled the connector",
                        combined(evidence, survives(ctx, RATE_LIMITS)))
