"""Every conformance scenario shows, on every seed, the cases its requirements need.

A requirement whose case did not happen in a run is *not shown*, which
fails it: right for a connector, wrong for a vendor who only changed the
seed. So the scenarios guarantee their cases (scripted instances beside the
random rates: ``first`` on an HTTP fault rule, ``poison.healthy_deals``),
and this test holds them to it: the reference connector meets every
requirement of the core profile on seeds 1–20, none of them not shown.

It is the one test that runs every scenario on twenty seeds (about half an
hour on two cores), so it has its own marker:
``pytest -m every_seed -n 2``. CI certifies the reference on seeds 1–5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalog import CATALOG
from conformance.checks import CheckContext, run_check
from conformance.findings import RequirementFailed
from conformance.observation import Observations
from conformance.subject import load_subject
from conformance.verdict import Profile

SEEDS = range(1, 21)


@pytest.mark.every_seed
@pytest.mark.parametrize("seed", SEEDS)
def test_the_reference_shows_every_case_and_fails_nothing(seed: int, tmp_path: Path) -> None:
    subject = load_subject("reference_impl.connector:build")
    context = CheckContext(subject, seed, Profile.CORE, Observations(subject, seed, tmp_path), tmp_path)
    failed: dict[str, str] = {}
    for requirement in CATALOG:
        if requirement.level != "MUST":
            continue
        try:
            run_check(requirement, context)
        except RequirementFailed as failure:
            failed[requirement.id] = failure.message()
    not_shown = sorted(rid for rid, message in failed.items() if "nothing is shown" in message)
    assert not not_shown, f"seed {seed}: cases that did not happen: {not_shown}\n" + "\n".join(failed.values())
    assert not failed, f"seed {seed}: " + "\n\n".join(failed.values())
