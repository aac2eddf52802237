"""Certification rules: a skip blocks, not-applicable does not, a SHOULD failure blocks only ``full``."""

from __future__ import annotations

from conformance.catalog import CATALOG, Level
from conformance.report import verdict_words
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


def test_a_profile_the_session_did_not_run_is_not_run_not_failed() -> None:
    core_only = {i: Outcome.PASS for i in MUSTS}
    full = verdict(core_only, Profile.FULL, ran=Profile.CORE)
    assert not full.certified and full.status == "not run"
    noun = "requirement is" if len(SHOULDS) == 1 else "requirements are"
    assert full.reason == f"core profile; {len(SHOULDS)} {noun} only in full"
    assert full.to_json()["status"] == "not run" and full.to_json()["certified"] is False
    assert verdict_words(full.to_json()) == ("not run", f" (core profile; {len(SHOULDS)} {noun} only in full)")
    core = verdict(core_only, Profile.CORE, ran=Profile.CORE)
    assert core.status == "certified" and verdict_words(core.to_json()) == ("CERTIFIED", "")


def test_a_profile_not_run_is_still_not_certified_when_what_ran_failed_it() -> None:
    failed = {**{i: Outcome.PASS for i in MUSTS}, MUSTS[0]: Outcome.FAIL}
    full = verdict(failed, Profile.FULL, ran=Profile.CORE)
    assert full.status == "not certified" and "reason" not in full.to_json()
    assert verdict_words(full.to_json())[0] == "NOT CERTIFIED"
    partial = verdict({MUSTS[0]: Outcome.PASS}, Profile.CORE, ran=Profile.CORE)
    assert partial.status == "not certified", "a requirement of the profile run left out (-k) is not 'not run'"
