"""ORDER: any delivery order, stale versions, children before parents.

For C2C-ORDER-001 there are two kinds of evidence. The targeted scenario
delays half of all webhooks by up to two days. Then hypothesis searches
fault schedules on a small firm: which events are late (and by how
long), dropped or doubled. A failing schedule is shrunk to a minimal one
and written out as a scenario that replays it (:mod:`conformance.schedules`).
"""

from __future__ import annotations

from conformance.checks.evidence import Evidence, black_box_only, combined, counterexample
from conformance.checks.registry import CheckContext, check, survives
from conformance.schedules import delivery_schedules
from conformance.verdict import Profile

EXAMPLES = {Profile.CORE: 12, Profile.FULL: 60}


@check("C2C-ORDER-001")
def any_delivery_order(ctx: CheckContext) -> Evidence:
    evidence = survives(ctx, "delivery_order.yaml")
    if evidence.findings:
        return evidence
    if ctx.subject.black_box:
        return black_box_only(evidence, "the search of delivery schedules")
    found = delivery_schedules(ctx.subject.factory, ctx.seed, EXAMPLES[ctx.profile],
                               ctx.observations.scenario_file("small_firm.yaml"))
    if found is None:
        return evidence  # nothing against the connector; what it owes elsewhere stays owned there
    return combined(evidence, counterexample(found, ctx.seed, ctx.subject, "C2C-ORDER-001",
                                             "late, lost or doubled webhooks", ctx.artifacts / "counterexamples"))


@check("C2C-ORDER-002")
def stale_versions(ctx: CheckContext) -> Evidence:
    return survives(ctx, "stale_versions.yaml")


@check("C2C-ORDER-003")
def children_first(ctx: CheckContext) -> Evidence:
    return survives(ctx, "children_first.yaml")
