"""IDEMP: duplicates, lost responses and full replays create nothing twice."""

from __future__ import annotations

from conformance.checks.evidence import Evidence
from conformance.checks.registry import CheckContext, check, survives


@check("C2C-IDEMP-001")
def duplicates(ctx: CheckContext) -> Evidence:
    return survives(ctx, "duplicates.yaml")


@check("C2C-IDEMP-002")
def lost_responses(ctx: CheckContext) -> Evidence:
    return survives(ctx, "lost_responses.yaml")


@check("C2C-IDEMP-003")
def replay_from_cursor_zero(ctx: CheckContext) -> Evidence:
    return survives(ctx, "replay_all.yaml")
