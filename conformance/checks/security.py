"""SEC: forged and replayed webhooks are refused at the door.

The courier plays the attacker (``faults.webhooks.attacks``): for some
deliveries it sends a message signed with a guessed key, and later the
captured message again, byte for byte, at each age the scenario lists. A
replay carries the timestamp it was signed with, so its age is how late it
is resent. The connector must answer the forged message, and every replay
older than the Standard Webhooks tolerance (5 minutes), with a 4xx. A 2xx
means it took the message in; a 5xx means it tried to process it (and a
real sender would retry it).

A replay within the tolerance is a duplicate of a message already
delivered under the same id: the connector may take it in (a 2xx) but must
not act on it twice, which C2C-IDEMP-001 judges; C2C-SEC-002 does not
judge its answer. Each stale age the scenario lists must have been sent at
least once, else the requirement is not shown at that age. What taking
such a message in cost (mismatches the fault-free companion run does not
have) counts against both requirements.
"""

from __future__ import annotations

from collections import Counter

from conformance.checks.evidence import Evidence, combined, not_shown
from conformance.checks.registry import CheckContext, check, survives
from conformance.findings import Finding
from simulator.scenario import TIMESTAMP_TOLERANCE_S

ATTACKS = "attacks.yaml"


def refused(status: int) -> bool:
    return 400 <= status < 500


def age_words(seconds: float) -> str:
    """An age as a finding reads it: "420 s (7 min)", "2 h", "2 days"."""
    if seconds < 3600:
        return f"{seconds:g} s ({seconds / 60:.3g} min)"
    if seconds < 86400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} days"


@check("C2C-SEC-001")
def forged_rejected(ctx: CheckContext) -> Evidence:
    sent = [r for r in ctx.observations.of(ATTACKS).attacks() if r["attack"] == "forged"]
    findings = [Finding(f"webhook:{r['id']}", "a 4xx", r["status"],
                        detail=f"signed with a key that is not the shared secret ({r['type']}) at t={r['t']}")
                for r in sent if not refused(r["status"])]
    if not sent:
        findings.append(Finding("scenario", "forged webhooks sent", 0, detail="no attack was made"))
    summary = f"{len(findings)} of {len(sent)} forged webhooks were not refused" if findings else ""
    return combined(Evidence(findings, summary), survives(ctx, ATTACKS))  # and what acting on them cost


@check("C2C-SEC-002")
def replayed_rejected(ctx: CheckContext) -> Evidence:
    """Every replay older than the tolerance refused; the findings and the summary name each replay's age."""
    run = ctx.observations.of(ATTACKS)
    stale = [r for r in run.attacks() if r["attack"] == "replayed" and r["age_s"] > TIMESTAMP_TOLERANCE_S]
    findings = [Finding(f"webhook:{r['id']}", "a 4xx", r["status"],
                        detail=f"replayed {age_words(r['age_s'])} after it was sent: the captured message, unchanged "
                               f"({r['type']}), at t={r['t']}")
                for r in stale if not refused(r["status"])]
    listed = sorted(a for a in run.result.scenario.faults.webhooks.replay_after_seconds if a > TIMESTAMP_TOLERANCE_S)
    sent = Counter(r["age_s"] for r in stale)
    findings += [not_shown(f"webhooks replayed {age_words(age)} after they were sent",
                           f"no replay of that age was sent in {ATTACKS}") for age in listed if not sent[age]]
    if not listed:
        findings.append(not_shown("stale replays", f"{ATTACKS} lists no replay age beyond {TIMESTAMP_TOLERANCE_S} s"))
    let_in = Counter(r["age_s"] for r in stale if not refused(r["status"]))
    summary = ""
    if let_in:
        by_age = "; ".join(f"{age_words(age)} old: {let_in[age]} of {sent[age]}" for age in sorted(let_in))
        summary = (f"{sum(let_in.values())} of {len(stale)} replays older than {TIMESTAMP_TOLERANCE_S} s were not "
                   f"refused ({by_age})")
        if refused_from := [age for age in sent if age > max(let_in)]:
            summary += f"; every replay {age_words(min(refused_from))} old or older was refused"
    return combined(Evidence(findings, summary), survives(ctx, ATTACKS))
