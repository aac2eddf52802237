"""Outcomes and verdicts: what a run of the suite certifies, per profile.

The ``core`` profile is every MUST; ``full`` adds the SHOULDs. A profile is
certified when each of its requirements passed or is not applicable. A
skip, or a requirement that was never run, blocks it: certification says
what was shown, not what was hoped. A SHOULD failure therefore blocks
``full`` and leaves ``core`` untouched.

A profile the run did not cover (``full`` after a ``core`` run) is not
certified, and its status says why: *not run*, unless what did run already
failed or skipped one of its requirements (then *not certified*).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from conformance.catalog import CATALOG, Level, Requirement


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    NOT_APPLICABLE = "not-applicable"


class Profile(StrEnum):
    CORE = "core"
    FULL = "full"


PROFILE_LEVELS = {Profile.CORE: frozenset({Level.MUST}), Profile.FULL: frozenset({Level.MUST, Level.SHOULD})}


def in_profile(requirement: Requirement, profile: Profile) -> bool:
    return requirement.level in PROFILE_LEVELS[profile]


CERTIFIED, NOT_CERTIFIED, NOT_RUN = "certified", "not certified", "not run"


@dataclass(frozen=True)
class ProfileVerdict:
    profile: Profile
    certified: bool
    failed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    not_run: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    ran: Profile | None = None  # the profile the session ran, when known
    beyond_run: int = 0  # requirements of this profile that ``ran`` does not contain

    @property
    def status(self) -> str:
        if self.certified:
            return CERTIFIED
        if self.beyond_run and not (self.failed or self.skipped):
            return NOT_RUN
        return NOT_CERTIFIED

    @property
    def reason(self) -> str:
        """Why a profile was not run, e.g. "core profile; 2 requirements are only in full"."""
        if self.status != NOT_RUN:
            return ""
        noun = "requirement is" if self.beyond_run == 1 else "requirements are"
        return f"{self.ran} profile; {self.beyond_run} {noun} only in {self.profile}"

    def to_json(self) -> dict:
        result = {"certified": self.certified, "status": self.status, "failed": list(self.failed),
                  "skipped": list(self.skipped), "not_run": list(self.not_run), "counts": dict(self.counts)}
        if self.reason:
            result["reason"] = self.reason
        return result


def verdict(outcomes: Mapping[str, Outcome], profile: Profile,
            catalog: Iterable[Requirement] = CATALOG, ran: Profile | None = None) -> ProfileVerdict:
    """``profile``'s verdict on ``outcomes``; ``ran`` (the profile the session ran) tells *not run* from a failure."""
    catalog = list(catalog)
    required = [r.id for r in catalog if in_profile(r, profile)]
    beyond = 0 if ran is None else sum(1 for r in catalog if in_profile(r, profile) and not in_profile(r, ran))
    failed = tuple(i for i in required if outcomes.get(i) is Outcome.FAIL)
    skipped = tuple(i for i in required if outcomes.get(i) is Outcome.SKIP)
    not_run = tuple(i for i in required if i not in outcomes)
    counts = {str(o): sum(1 for i in required if outcomes.get(i) is o) for o in Outcome}
    counts["not_run"] = len(not_run)
    return ProfileVerdict(profile, not (failed or skipped or not_run), failed, skipped, not_run, counts, ran, beyond)
