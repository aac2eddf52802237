"""One check per requirement, registered by ID, each returning the evidence against the connector.

A check reads observations (scenario runs, cached per session) and returns
the findings that break its requirement; no findings means it passed.
:func:`run_check` first asks whether the run exercised the requirement at
all (its faults fired, the connector wrote to the ERP), then turns the
findings into :class:`RequirementFailed` with the seed and the commands
that reproduce them. As in schemathesis, registration is one decorator,
and the suite refuses a catalog entry without a check (or the reverse).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.catalog import BY_ID, CATALOG, Requirement
from conformance.checks.evidence import Evidence, caused_by_faults, not_shown
from conformance.findings import Finding, RequirementFailed
from conformance.observation import Observations, simulate_command
from conformance.ownership import CALM_SCENARIOS, defect_of
from conformance.subject import Subject
from conformance.verdict import Profile


@dataclass(frozen=True)
class CheckContext:
    subject: Subject
    seed: int
    profile: Profile
    observations: Observations
    artifacts: Path  # where a check may leave files a failure points to (the report directory)


Check = Callable[[CheckContext], Evidence]
CHECKS: dict[str, Check] = {}


def check(requirement_id: str) -> Callable[[Check], Check]:
    if requirement_id not in BY_ID:
        raise LookupError(f"{requirement_id} is not in the requirement catalog")

    def register(function: Check) -> Check:
        if requirement_id in CHECKS:
            raise ValueError(f"{requirement_id} has two checks: {CHECKS[requirement_id].__name__} and {function.__name__}")
        CHECKS[requirement_id] = function
        return function

    return register


def pytest_command(requirement: Requirement, ctx: CheckContext) -> str:
    return (f"pytest conformance/ -k {requirement.id} {ctx.subject.options()} "
            f"--c2c-seed {ctx.seed} --c2c-profile {ctx.profile}")


def exercised(requirement: Requirement, ctx: CheckContext) -> list[Finding]:
    """Not-shown findings: a listed fault that never fired, or a connector that wrote nothing to the ERP."""
    run = ctx.observations.of(requirement.scenario)
    findings = [not_shown(f"{kind} injected", f"no {kind} fault fired in {requirement.scenario}")
                for kind in requirement.faults if not run.result.fault_counts.get(kind)]
    if not run.result.systems.erp.charges:
        findings.append(not_shown("ERP charges", f"the connector wrote no charge in {requirement.scenario}"))
    return findings


def run_check(requirement: Requirement, ctx: CheckContext) -> Evidence:
    """The requirement's evidence when it passed; :class:`RequirementFailed` (with ``evidence``) when it did not."""
    evidence = CHECKS[requirement.id](ctx)
    unexercised = exercised(requirement, ctx)
    findings = evidence.findings + unexercised
    if findings:
        failure = RequirementFailed(requirement, findings, ctx.seed, reproduce_commands(requirement, ctx, evidence,
                                                                                       bool(unexercised)),
                                    evidence.summary)
        failure.evidence = evidence
        raise failure
    return evidence


def reproduce_commands(requirement: Requirement, ctx: CheckContext, evidence: Evidence, unexercised: bool) -> list[str]:
    """The commands a failure lists, the first one reproducing it.

    A failure shown in the requirement's scenario: the pytest command, then
    ``c2c simulate`` of that scenario, then the evidence's own commands. A
    failure found beyond it (``evidence.scenario_passed``: a counterexample
    hypothesis shrank) is reproduced by the evidence's commands, so they come
    first, then the pytest command; the scenario's own ``c2c simulate``, which
    would show a passing run, is left out, unless the scenario did not
    exercise the requirement (that not-shown finding is about its run).
    """
    suite = pytest_command(requirement, ctx)
    scenario = simulate_command(ctx.observations.of(requirement.scenario).scenario_path, ctx.seed, ctx.subject)
    if evidence.scenario_passed:
        return [*evidence.reproduce, suite, *([scenario] if unexercised else [])]
    return [suite, scenario, *evidence.reproduce]


def survives(ctx: CheckContext, scenario: str) -> Evidence:
    """Whether the connector is as right under the scenario's faults as without them (see caused_by_faults)."""
    return caused_by_faults(ctx.observations.of(scenario), lambda: ctx.observations.control(scenario),
                            lambda: calm_day_defects(ctx))


_CALM_DAY: weakref.WeakKeyDictionary[Observations, dict[tuple[str, str], list[str]]] = weakref.WeakKeyDictionary()


def calm_day_defects(ctx: CheckContext) -> dict[tuple[str, str], list[str]]:
    """(rule, kind of item) -> the requirements judged on a fault-free scenario that claim that defect there.

    Computed once per session, and only when a fault requirement meets a
    mismatch the connector also has without faults.
    """
    if ctx.observations not in _CALM_DAY:
        defects: dict[tuple[str, str], set[str]] = defaultdict(set)
        for requirement in CATALOG:
            if requirement.scenario in CALM_SCENARIOS and not ctx.subject.lacks(requirement.needs):
                for mismatch in CHECKS[requirement.id](ctx).claimed:
                    defects[defect_of(mismatch)].add(requirement.id)
        _CALM_DAY[ctx.observations] = {defect: sorted(ids) for defect, ids in defects.items()}
    return _CALM_DAY[ctx.observations]
