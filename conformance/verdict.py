"""Outcomes and verdicts: what a run of the suite certifies, per profile.

The ``core`` profile is every MUST; ``full`` adds the SHOULDs. A profile is
certified when each of its requirements passed or is not applicable. A
skip, or a requirement that was never run, blocks it: certification says
what was shown, not what was hoped. A SHOULD failure therefore blocks
``full`` and leaves ``core`` untouched.
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


@dataclass(frozen=True)
class ProfileVerdict:
    profile: Profile
    certified: bool
    failed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    not_run: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"certified": self.certified, "failed": list(self.failed), "skipped": list(self.skipped),
                "not_run": list(self.not_run), "counts": dict(self.counts)}


def verdict(outcomes: Mapping[str, Outcome], profile: Profile,
            catalog: Iterable[Requirement] = CATALOG) -> ProfileVerdict:
    required = [r.id for r in catalog if in_profile(r, profile)]
    failed = tuple(i for i in required if outcomes.get(i) is Outcome.FAIL)
    skipped = tuple(i for i in required if outcomes.get(i) is Outcome.SKIP)
    not_run = tuple(i for i in required if i not in outcomes)
    counts = {str(o): sum(1 for i in required if outcomes.get(i) is o) for o in Outcome}
    counts["not_run"] = len(not_run)
    return ProfileVerdict(profile, not (failed or skipped or not_run), failed, skipped, not_run, counts)
