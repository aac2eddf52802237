"""One certification session: the subject, the seed, the profile, and what each requirement came to.

The pytest plugin creates one :class:`Certification` per session and each
requirement's test calls :meth:`Certification.evaluate`. Outcomes are
recorded from pytest's own reports (so a crash in a check is a failure,
never a silent pass) and the failure details from the check itself.

The connector's own faults are reported as its own: a factory that raises
fails the first requirement with where it raised, and every later one
with one line pointing there (the factory is not called again); an
exception in ``receive()`` or a scheduled callback, or a ``receive()``
without an HTTP status, leads the findings of a failed requirement whose
runs it happened in, with the first traceback of each kind.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog import CATALOG, Requirement
from conformance.checks import CheckContext, run_check
from conformance.checks.evidence import Evidence
from conformance.checks.registry import pytest_command
from conformance.findings import Finding, RequirementFailed
from conformance.observation import LoadTarget, Observation, Observations
from conformance.ownership import Ownership
from conformance.subject import Subject
from conformance.verdict import Outcome, Profile, in_profile
from mocks.core.clock import iso
from simulator.host import ConnectorFault, FaultKind, connector_traceback
from simulator.runtime import ConnectorLoadError

NOT_APPLICABLE = "c2c_not_applicable"
EXPECTED = {FaultKind.BAD_RETURN: "an HTTP status"}  # else: "no exception"


def connector_findings(runs: Iterable[Observation]) -> list[Finding]:
    """One finding per kind of connector fault in ``runs``: counted over all of them, the first one in full."""
    merged: dict[FaultKind, ConnectorFault] = {}
    for run in runs:
        for fault in run.result.connector_faults:
            if fault.kind not in merged:
                merged[fault.kind] = ConnectorFault(fault.kind, fault.error, fault.message, fault.where,
                                                    fault.first_at, fault.traceback)
            total = merged[fault.kind]
            total.count += fault.count
            total.by_error.update(fault.by_error)
    findings = []
    for fault in merged.values():
        traceback_text = f"\n{fault.traceback}" if fault.traceback else ""
        got = fault.message if fault.kind is FaultKind.BAD_RETURN else fault.error  # None, or KeyError
        findings.append(Finding(f"connector {fault.kind}", EXPECTED.get(fault.kind, "no exception"), got,
                                detail=f"— {fault.headline()}{traceback_text}"))
    return findings


def _split(faults: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(faults that lead the findings, faults that follow them).

    A delivery the connector raised on or answered without a status, or a
    factory or close() that raised, may explain everything after it: it
    leads. A scheduled callback that raised (often a transient error let
    through, retried at the next tick) is one line of the summary, and its
    traceback follows the findings about money.
    """
    callback = f"connector {FaultKind.SCHEDULED_CALLBACK}"
    return [f for f in faults if f.item != callback], [f for f in faults if f.item == callback]


def stopped_waiting_caveat(runs: Iterable[Observation]) -> str:
    """What a failure says when, in a run it read, the served firm stopped waiting for the connector: from then on
    the connector's work took simulated time, as it does not in process (empty when no run did)."""
    lines = []
    for run in runs:
        stopped = run.stopped_waiting()
        if stopped is not None:
            lines.append(f"in {run.scenario_path.name}, the firm stopped waiting for the connector at "
                         f"{iso(stopped['t'])} (its holds used up the run's {stopped['budget_s']:g} wall s): "
                         "from then on each wall millisecond of the connector's work was simulated minutes, "
                         "so lag after that point overstates what it would be in process")
    return "\n".join(lines)


def _with_faults(summary: str, leading: list[Finding], trailing: list[Finding]) -> str:
    lines = ["the connector failed in its own code in the runs this requirement read (first of each kind below); "
             "the other findings may only be its consequences"] if leading else []
    lines.append(summary)
    lines += [f"the connector also {f.detail.splitlines()[0].removeprefix('— connector ')}" for f in trailing]
    return "\n".join(filter(None, lines))


@dataclass
class Certification:
    subject: Subject
    seed: int
    profile: Profile
    artifacts: Path
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    measured: dict[str, str] = field(default_factory=dict)  # what a passing requirement's check measured
    unbuildable: tuple[str, str] | None = None  # (the requirement it was reported under, why) once build() raised
    load_target: LoadTarget = field(default_factory=LoadTarget)

    def __post_init__(self) -> None:
        self.observations = Observations(self.subject, self.seed, self.artifacts, self.load_target)
        self.ownership = Ownership()
        self.context = CheckContext(self.subject, self.seed, self.profile, self.observations, self.artifacts)

    def _claim(self, requirement_id: str, evidence: Evidence) -> None:
        self.ownership.claim(requirement_id, evidence.claimed)
        for mismatch, owners in evidence.owned_elsewhere:
            for owner in owners:
                self.ownership.claim(owner, [mismatch])

    def mismatch_owners(self) -> list[dict[str, Any]]:
        """Every mismatch of each scenario whose requirements were all judged this session, with who owns it.

        A session run with ``-k`` judges some requirements only; a scenario
        some of whose requirements did not run is left out, since its
        mismatches' owners may be among those.
        """
        complete = [(name, run.result.reconciliation.mismatches) for name, run in self.observations.judged()
                    if all(r.id in self.outcomes for r in CATALOG if r.scenario == name and in_profile(r, self.profile))]
        return self.ownership.rows(complete)

    def evaluate(self, requirement: Requirement, record_property) -> None:
        record_property("requirement", requirement.id)
        record_property("level", str(requirement.level))
        record_property("family", str(requirement.family))
        record_property("seed", self.seed)
        if self.subject.lacks(requirement.needs):
            if requirement.optional:
                record_property(NOT_APPLICABLE, True)
                pytest.skip(f"not applicable: the connector declares no {requirement.needs!r} capability")
            pytest.skip(f"the connector declares no {requirement.needs!r} capability, and {requirement.id} "
                        "cannot be waived: this skip blocks certification")
        if self.unbuildable is not None:  # said once, in full, under the first requirement; not built again
            first, _ = self.unbuildable
            failure = RequirementFailed(requirement, [], self.seed, [pytest_command(requirement, self.context)],
                                        f"not run: the connector cannot be built (see {first})")
            self.failures[requirement.id] = failure.to_json()
            pytest.fail(f"{requirement.id}: not run: the connector cannot be built (see {first})", pytrace=False)
        self.observations.read.clear()
        try:
            evidence = run_check(requirement, self.context)
            self._claim(requirement.id, evidence)
            if evidence.summary:
                self.measured[requirement.id] = evidence.summary
            return
        except RequirementFailed as exc:
            failure = exc
            if exc.evidence is not None:
                self._claim(requirement.id, exc.evidence)
            faults = connector_findings(self.observations.read)
            caveat = stopped_waiting_caveat(self.observations.read)
            if faults or caveat:
                leading, trailing = _split(faults)
                summary = "\n".join(filter(None, [_with_faults(failure.summary, leading, trailing), caveat]))
                failure = RequirementFailed(requirement, failure.findings + trailing, self.seed, failure.reproduce,
                                            summary, leading=leading)
        except ConnectorLoadError as exc:  # the connector's build() raised: its message says it all
            where = f"\n  at {connector_traceback(exc.__cause__)[0]}" if exc.__cause__ is not None else ""
            self.unbuildable = (requirement.id, str(exc))
            failure = RequirementFailed(requirement, [], self.seed, [pytest_command(requirement, self.context)],
                                        f"the run could not complete: {exc}{where}")
        except Exception as exc:  # the run itself broke: a failure, with the innermost frames to start from
            failure = RequirementFailed(requirement, [], self.seed, [pytest_command(requirement, self.context)],
                                        f"the run could not complete: {type(exc).__name__}: {exc}\n"
                                        + "".join(traceback.format_exception(exc, limit=-3, chain=False)).rstrip())
        self.failures[requirement.id] = failure.to_json()
        pytest.fail(failure.message(), pytrace=False)  # outside the except: no chained traceback

    def record(self, requirement_id: str, report: pytest.TestReport) -> None:
        """Fold one pytest report (setup, call or teardown) into the requirement's outcome."""
        if report.failed:
            self.outcomes[requirement_id] = Outcome.FAIL
            self.reasons.setdefault(requirement_id, report.longreprtext.splitlines()[0] if report.longreprtext else "")
        elif report.skipped:
            waived = any(name == NOT_APPLICABLE for name, _ in report.user_properties)
            self.outcomes[requirement_id] = Outcome.NOT_APPLICABLE if waived else Outcome.SKIP
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self.reasons[requirement_id] = reason.removeprefix("Skipped: ")
        elif report.when == "call" and requirement_id not in self.outcomes:
            self.outcomes[requirement_id] = Outcome.PASS
