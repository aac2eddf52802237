"""One certification session: the subject, the seed, the profile, and what each requirement came to.

The pytest plugin creates one :class:`Certification` per session and each
requirement's test calls :meth:`Certification.evaluate`. Outcomes are
recorded from pytest's own reports (so a crash in a check is a failure,
never a silent pass) and the failure details from the check itself.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog import Requirement
from conformance.checks import CheckContext, run_check
from conformance.checks.registry import pytest_command
from conformance.findings import RequirementFailed
from conformance.observation import Observations
from conformance.subject import Subject
from conformance.verdict import Outcome, Profile
from simulator.runtime import ConnectorLoadError

NOT_APPLICABLE = "c2c_not_applicable"


@dataclass
class Certification:
    subject: Subject
    seed: int
    profile: Profile
    artifacts: Path
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.observations = Observations(self.subject, self.seed, self.artifacts)
        self.context = CheckContext(self.subject, self.seed, self.profile, self.observations, self.artifacts)

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
        try:
            run_check(requirement, self.context)
            return
        except RequirementFailed as exc:
            failure = exc
        except ConnectorLoadError as exc:  # the connector's build() raised: its message says it all
            failure = RequirementFailed(requirement, [], self.seed, [pytest_command(requirement, self.context)],
                                        f"the run could not complete: {exc}")
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
