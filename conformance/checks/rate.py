"""RATE: the connector waits as long as each system asked it to.

Every mock's rate limiter counts requests that came from a client before
the ``Retry-After`` it had been given (``early_retries``): an honest count
of the systems' own view, not a guess from the connector's logs.
"""

from __future__ import annotations

from conformance.checks.evidence import Evidence
from conformance.checks.registry import CheckContext, check
from conformance.findings import Finding


@check("C2C-RATE-001")
def honours_retry_after(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of("rate_limits.yaml")
    calls = run.result.kpis["api_calls"]
    findings = [Finding(f"{system}:early_retries", 0, counts["early_retries"],
                        detail=f"of {counts.get('calls', '?')} calls, {counts.get('rate_limited_429', '?')} throttled")
                for system, counts in sorted(calls.items())
                if isinstance(counts, dict) and counts.get("early_retries", 0) > 0]
    throttled = sum(c.get("rate_limited_429", 0) for c in calls.values() if isinstance(c, dict))
    if not throttled:
        findings.append(Finding("scenario", "some throttled calls", 0,
                                detail="no system throttled the connector; the requirement was not exercised"))
    return Evidence(findings, "requests arrived before the Retry-After the system had given" if findings else "")
