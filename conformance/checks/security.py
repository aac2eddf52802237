"""SEC: forged and replayed webhooks are refused at the door.

The courier plays the attacker (``faults.webhooks.attacks``): for some
deliveries it sends a message signed with a guessed key, and later the
captured message again, byte for byte, once its timestamp is stale. The
connector must answer both with a 4xx. A 2xx means it took the message in;
a 5xx means it tried to process it (and a real sender would retry it).
"""

from __future__ import annotations

from conformance.checks.evidence import Evidence
from conformance.checks.registry import CheckContext, check
from conformance.findings import Finding

ATTACKS = "attacks.yaml"


def _refused(ctx: CheckContext, kind: str, what: str) -> Evidence:
    run = ctx.observations.of(ATTACKS)
    sent = [r for r in run.attacks() if r["attack"] == kind]
    findings = [Finding(f"webhook:{r['id']}", "a 4xx", r["status"], detail=f"{what} ({r['type']}) at t={r['t']}")
                for r in sent if not 400 <= r["status"] < 500]
    if not sent:
        findings.append(Finding("scenario", f"{kind} webhooks sent", 0, detail="no attack was made"))
    summary = f"{len(findings)} of {len(sent)} {kind} webhooks were not refused" if findings else ""
    return Evidence(findings, summary)


@check("C2C-SEC-001")
def forged_rejected(ctx: CheckContext) -> Evidence:
    return _refused(ctx, "forged", "signed with a key that is not the shared secret")


@check("C2C-SEC-002")
def replayed_rejected(ctx: CheckContext) -> Evidence:
    return _refused(ctx, "replayed", "a captured message resent unchanged with a stale timestamp")
