"""One check per requirement, registered by ID, each returning the evidence against the connector.

A check reads observations (scenario runs, cached per session) and returns
the findings that break its requirement; no findings means it passed.
:func:`run_check` turns findings into :class:`RequirementFailed` with the
seed and the commands that reproduce them. Like schemathesis's checks,
registration is one decorator, and the suite refuses a catalog entry
without a check (or a check without an entry).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from conformance.catalog import BY_ID, Requirement
from conformance.findings import Finding, RequirementFailed
from conformance.observation import SCENARIOS, Observation, Observations, simulate_command
from conformance.subject import Subject
from conformance.verdict import Profile
from simulator.oracle import Mismatch


@dataclass(frozen=True)
class CheckContext:
    subject: Subject
    seed: int
    profile: Profile
    observations: Observations
    artifacts: Path  # where a check may leave files a failure points to (the report directory)


@dataclass
class Evidence:
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    reproduce: list[str] = field(default_factory=list)  # beyond the standard pytest and simulate commands


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


def run_check(requirement: Requirement, ctx: CheckContext) -> None:
    evidence = CHECKS[requirement.id](ctx)
    if evidence.findings:
        reproduce = [pytest_command(requirement, ctx),
                     simulate_command(SCENARIOS / requirement.scenario, ctx.seed, ctx.subject.spec),
                     *evidence.reproduce]
        raise RequirementFailed(requirement, evidence.findings, ctx.seed, reproduce, evidence.summary)


# -- what the oracle says, seen per requirement ---------------------------------------------


def mismatches(observation: Observation, rules: Iterable[str] | None = None,
               where: Callable[[Mismatch], bool] = lambda m: True) -> list[Mismatch]:
    wanted = None if rules is None else frozenset(rules)
    return [m for m in observation.result.reconciliation.mismatches
            if (wanted is None or m.rule in wanted) and where(m)]


def caused_by_faults(ctx: CheckContext, scenario_file: str) -> Evidence:
    """The mismatches the scenario's faults caused: those the same connector does not have on a good day.

    A fault requirement asks "does the connector survive this fault?", not
    "does it bill correctly?" (the BILL family asks that), so a mismatch the
    connector also has without any fault is not held against it here.
    """
    faulty, calm = ctx.observations.of(scenario_file), ctx.observations.control(scenario_file)
    known = {(m.rule, m.item, repr(m.actual)) for m in calm.result.reconciliation.mismatches}
    new = [m for m in faulty.result.reconciliation.mismatches if (m.rule, m.item, repr(m.actual)) not in known]
    faults = ", ".join(f"{kind} ×{n}" for kind, n in sorted(faulty.result.fault_counts.items())) or "none fired"
    summary = (f"{len(new)} of {len(faulty.result.reconciliation.mismatches)} reconciliation mismatches appear only "
               f"under this scenario's faults ({faults})") if new else ""
    return Evidence([Finding.of(m) for m in new], summary)


def oracle_findings(observation: Observation, rules: Iterable[str] | None = None,
                    where: Callable[[Mismatch], bool] = lambda m: True) -> Evidence:
    found = mismatches(observation, rules, where)
    return Evidence([Finding.of(m) for m in found],
                    f"{len(found)} reconciliation mismatch(es) in {observation.scenario_path.name}" if found else "")
