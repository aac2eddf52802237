"""The catalog is the single source of truth: complete, well-formed, wired to checks and scenarios, hashed."""

from __future__ import annotations

import dataclasses
import re

import pytest

from conformance.catalog import CAPABILITIES, CATALOG, PROCESS, Family, Level, Requirement
from conformance.catalog_hash import catalog_hash
from conformance.checks import CHECKS
from conformance.checks.registry import check
from conformance.observation import SCENARIOS
from simulator.scenario import load_scenario

ID = re.compile(r"^C2C-(?P<family>[A-Z]+)-\d{3}$")


def test_every_requirement_has_exactly_one_check_and_every_check_a_requirement() -> None:
    assert set(CHECKS) == {r.id for r in CATALOG}


def test_ids_are_unique_and_name_their_family() -> None:
    ids = [r.id for r in CATALOG]
    assert len(ids) == len(set(ids))
    for requirement in CATALOG:
        match = ID.match(requirement.id)
        assert match and match["family"] == requirement.family, requirement.id


def test_every_family_and_both_levels_are_covered() -> None:
    assert {r.family for r in CATALOG} == set(Family)
    assert {r.level for r in CATALOG} == set(Level)


@pytest.mark.parametrize("requirement", CATALOG, ids=[r.id for r in CATALOG])
def test_requirement_is_one_sentence_with_its_money_and_a_loadable_scenario(requirement: Requirement) -> None:
    assert requirement.statement.endswith(".") and "\n" not in requirement.statement
    assert requirement.money.endswith(".")
    load_scenario(SCENARIOS / requirement.scenario)
    assert requirement.needs is None or requirement.needs in (*CAPABILITIES, PROCESS)
    assert not requirement.optional or requirement.needs is not None, "only a capability can be waived"


def test_registering_a_check_for_an_unknown_requirement_or_twice_is_refused() -> None:
    with pytest.raises(LookupError, match="C2C-NOPE-001"):
        check("C2C-NOPE-001")
    with pytest.raises(ValueError, match="two checks"):
        check(CATALOG[0].id)(lambda ctx: None)


def test_the_catalog_hash_is_stable_and_changes_with_any_change() -> None:
    assert catalog_hash() == catalog_hash(CATALOG)
    reworded = (dataclasses.replace(CATALOG[0], statement=CATALOG[0].statement + " Really."), *CATALOG[1:])
    relevelled = (dataclasses.replace(CATALOG[0], level=Level.SHOULD), *CATALOG[1:])
    assert len({catalog_hash(), catalog_hash(reworded), catalog_hash(relevelled), catalog_hash(CATALOG[1:]),
                catalog_hash(CATALOG[::-1])}) == 5


def test_conformance_md_shows_the_catalog_as_it_is() -> None:
    from conformance.docs import DOC, render

    assert render() in DOC.read_text(), "CONFORMANCE.md is stale: run python -m conformance.docs"
