"""The scenarios a connector meets: a declared lack of a billing type takes that type out, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalog import CATALOG
from conformance.observation import SCENARIOS, Observations
from conformance.subject import load_subject
from simulator.scenario import load_scenario


@pytest.mark.parametrize(("connector", "kept"), [
    ("tests.subjects.tm_only:build", {"time_and_materials"}),
    ("tests.subjects.limited_capabilities:build", {"time_and_materials", "capped_tm", "fixed_fee_milestones"}),
])
def test_the_generated_scenario_has_exactly_the_declared_mix(tmp_path: Path, connector: str, kept: set[str]) -> None:
    observations = Observations(load_subject(connector), 1, tmp_path)
    for name in sorted({r.scenario for r in CATALOG}):
        catalog = load_scenario(SCENARIOS / name)
        met = load_scenario(observations.scenario_file(name))
        assert met.contracts.billing_types == {k: v for k, v in catalog.contracts.billing_types.items() if k in kept}, \
            name
        assert met.model_copy(update={"contracts": catalog.contracts}) == catalog, f"{name}: only the mix differs"


def test_a_connector_supporting_every_type_meets_the_catalog_files_themselves(tmp_path: Path) -> None:
    observations = Observations(load_subject("reference_impl.connector:build"), 1, tmp_path)
    assert observations.scenario_file("billing.yaml") == SCENARIOS / "billing.yaml"
    assert not (tmp_path / "scenarios").exists()
