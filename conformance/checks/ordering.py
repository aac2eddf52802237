"""ORDER-001: whatever order webhooks arrive in, the ERP ends up the same.

Two kinds of evidence. The targeted scenario delays half of all webhooks
by up to two days. Then hypothesis searches fault schedules (which events
are delayed, dropped or duplicated, and by how much) on a small firm; a
failing schedule is shrunk to a minimal one and written out as a scenario
that replays it (see :mod:`conformance.schedules`).
"""

from __future__ import annotations

from conformance.checks.registry import CheckContext, Evidence, caused_by_faults, check
from conformance.findings import Finding
from conformance.observation import relative, simulate_command
from conformance.schedules import Counterexample, delivery_schedules
from conformance.verdict import Profile

EXAMPLES = {Profile.CORE: 12, Profile.FULL: 60}


def shrunk(ctx: CheckContext, requirement_id: str, found: Counterexample, what: str) -> Evidence:
    """The counterexample as evidence: its mismatches, and a scenario file that replays it."""
    folder = ctx.artifacts / "counterexamples"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{requirement_id}-seed{ctx.seed}.yaml"
    path.write_text(f"# {requirement_id}: {what}, shrunk by hypothesis after {found.examples_run} runs.\n"
                    + found.scenario_text(name=f"{requirement_id.lower()}-counterexample"))
    findings = [Finding.of(m) for m in found.mismatches]
    summary = (f"hypothesis found a schedule of {found.size} fault(s) that breaks it; the minimal one is in "
               f"{relative(path)}:\n" + "\n".join(f"    {line}" for line in found.scenario_text().splitlines()[3:]))
    return Evidence(findings, summary, [simulate_command(path, ctx.seed, ctx.subject.spec)])


@check("C2C-ORDER-001")
def any_delivery_order(ctx: CheckContext) -> Evidence:
    evidence = caused_by_faults(ctx, "delivery_order.yaml")
    if evidence.findings:
        return evidence
    found = delivery_schedules(ctx.subject.factory, ctx.seed, EXAMPLES[ctx.profile])
    if found is None:
        return Evidence()
    return shrunk(ctx, "C2C-ORDER-001", found, "late, lost or doubled webhooks")
