"""Shrinking: a planted ordering bug is found by hypothesis and shrunk to a schedule of a few events.

``trusts_event_order`` ignores a timesheet approval that arrives before
the timesheet's ``submitted`` event. Hypothesis searches schedules of late,
lost and doubled webhooks on the small firm; what it reports must be tiny,
must be a scenario file ``c2c simulate`` accepts, and must reproduce the
failure on its own, while the reference connector survives it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.schedules import crash_schedules, delivery_schedules
from reference_impl.connector import build as reference
from simulator.run import simulate
from simulator.scenario import load_scenario
from tests.broken_connectors import no_durable_state, trusts_event_order

SEED = 1


@pytest.mark.slow
def test_a_planted_ordering_bug_shrinks_to_a_few_events_that_replay_it(tmp_path: Path) -> None:
    found = delivery_schedules(trusts_event_order.build, SEED, examples=30)
    assert found is not None, "hypothesis did not find the ordering bug"
    assert 1 <= found.size <= 3, found.faults
    assert found.mismatches and all(m.rule in ("net_charge", "capped_item", "cap") for m in found.mismatches)

    replay = tmp_path / "counterexample.yaml"
    replay.write_text(found.scenario_text(tmp_path))
    scenario = load_scenario(replay)
    assert len(scenario.faults.webhooks.script) == found.size
    replayed = simulate(scenario, SEED, factory=trusts_event_order.build).reconciliation
    assert {m.item for m in replayed.mismatches} == {m.item for m in found.mismatches}
    assert simulate(scenario, SEED, factory=reference).reconciliation.ok, "the reference survives the schedule"


@pytest.mark.thorough
def test_the_search_is_deterministic_for_a_seed() -> None:
    first = delivery_schedules(trusts_event_order.build, SEED, examples=30)
    again = delivery_schedules(trusts_event_order.build, SEED, examples=30)
    assert first is not None and again is not None and first.faults == again.faults


@pytest.mark.slow
def test_no_schedule_breaks_the_reference_connector() -> None:
    assert delivery_schedules(reference, SEED, examples=15) is None


@pytest.mark.slow
def test_a_kill_instant_that_loses_money_is_found_for_a_connector_without_durable_state() -> None:
    found = crash_schedules(no_durable_state.build, SEED, examples=15)
    assert found is not None and 1 <= len(found.faults["crashes"]["at_calls"]) <= 2, found
