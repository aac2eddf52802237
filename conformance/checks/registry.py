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

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.catalog import BY_ID, Requirement
from conformance.checks.evidence import Evidence, caused_by_faults, not_shown
from conformance.findings import Finding, RequirementFailed
from conformance.observation import Observations, simulate_command
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
    return (f"pytest conformance/ -k {requirement.id} --connector {shlex.quote(ctx.subject.spec)} "
            f"--c2c-seed {ctx.seed} --c2c-profile {ctx.profile}")


def exercised(requirement: Requirement, ctx: CheckContext) -> list[Finding]:
    """Not-shown findings: a listed fault that never fired, or a connector that wrote nothing to the ERP."""
    run = ctx.observations.of(requirement.scenario)
    findings = [not_shown(f"{kind} injected", f"no {kind} fault fired in {requirement.scenario}")
                for kind in requirement.faults if not run.result.fault_counts.get(kind)]
    if not run.result.systems.erp.charges:
        findings.append(not_shown("ERP charges", f"the connector wrote no charge in {requirement.scenario}"))
    return findings


def run_check(requirement: Requirement, ctx: CheckContext) -> None:
    evidence = CHECKS[requirement.id](ctx)
    findings = evidence.findings + exercised(requirement, ctx)
    if findings:
        scenario = ctx.observations.of(requirement.scenario).scenario_path
        reproduce = [pytest_command(requirement, ctx), simulate_command(scenario, ctx.seed, ctx.subject.spec),
                     *evidence.reproduce]
        raise RequirementFailed(requirement, findings, ctx.seed, reproduce, evidence.summary)


def survives(ctx: CheckContext, scenario: str) -> Evidence:
    """Whether the connector is as right under the scenario's faults as without them (see caused_by_faults)."""
    return caused_by_faults(ctx.observations.of(scenario), ctx.observations.control(scenario))
