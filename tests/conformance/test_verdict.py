"""Certification rules: a skip blocks, not-applicable does not, a SHOULD failure blocks only ``full``."""

from __future__ import annotations

from conformance.catalog import CATALOG, Level
from conformance.verdict import Outcome, Profile, verdict

MUSTS = [r.id for r in CATALOG if r.level is Level.MUST]
SHOULDS = [r.id for r in CATALOG if r.level is Level.SHOULD]


def outcomes(**changes: Outcome) -> dict[str, Outcome]:
    base = {r.id: Outcome.PASS for r in CATALOG}
    base.update({key.replace("_", "-"): value for key, value in changes.items()})
    return base


def test_all_passed_certifies_both_profiles() -> None:
    assert verdict(outcomes(), Profile.CORE).certified
    assert verdict(outcomes(), Profile.FULL).certified


def test_a_skip_blocks_certification() -> None:
    result = verdict({**outcomes(), MUSTS[0]: Outcome.SKIP}, Profile.CORE)
    assert not result.certified and result.skipped == (MUSTS[0],)
    assert not verdict({**outcomes(), SHOULDS[0]: Outcome.SKIP}, Profile.FULL).certified


def test_not_applicable_does_not_block() -> None:
    assert verdict({**outcomes(), MUSTS[0]: Outcome.NOT_APPLICABLE}, Profile.CORE).certified


def test_a_should_failure_blocks_full_but_not_core() -> None:
    failed = {**outcomes(), SHOULDS[0]: Outcome.FAIL}
    assert verdict(failed, Profile.CORE).certified
    full = verdict(failed, Profile.FULL)
    assert not full.certified and full.failed == (SHOULDS[0],)


def test_a_must_failure_blocks_both() -> None:
    failed = {**outcomes(), MUSTS[-1]: Outcome.FAIL}
    assert not verdict(failed, Profile.CORE).certified and not verdict(failed, Profile.FULL).certified


def test_a_requirement_never_run_blocks_like_a_skip() -> None:
    core_only = {i: Outcome.PASS for i in MUSTS}
    assert verdict(core_only, Profile.CORE).certified
    full = verdict(core_only, Profile.FULL)
    assert not full.certified and set(full.not_run) == set(SHOULDS)
    assert full.counts["not_run"] == len(SHOULDS) and full.counts["pass"] == len(MUSTS)
