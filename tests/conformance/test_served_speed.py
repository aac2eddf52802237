"""A black-box run gives a bound its connector meets on its own timers wall time to be met in.

At a certification's usual speed a simulated day passes in 0.2 wall
seconds. C2C-RECON-002's 24-hour bound is met by a connector's feed poll, a
timer of its own the served calendar cannot wait for, so its scenario runs
slow enough for the bound to span :data:`TIMER_BOUND_WALL_S`; every other
scenario, and the fault-free companion of that one, keeps the usual speed.
"""

from __future__ import annotations

from pathlib import Path

from conformance.catalog import BY_ID, CATALOG
from conformance.checks.reconciliation import DROPPED_WITHIN_H
from conformance.observation import TIMER_BOUND_WALL_S, _companion, _served_length, served_speed
from simulator.scenario import load_scenario
from simulator.served import black_box_speed

SCENARIOS = Path(__file__).resolve().parents[2] / "conformance" / "scenarios"
DROPPED = SCENARIOS / "dropped_webhooks.yaml"


def test_the_feed_recovery_scenario_gives_its_bound_a_wall_second() -> None:
    scenario = load_scenario(DROPPED)
    speed = served_speed(scenario, DROPPED)
    assert black_box_speed(scenario) > speed  # slower than it would otherwise run
    assert DROPPED_WITHIN_H * 3600 / speed >= TIMER_BOUND_WALL_S


def test_the_check_judges_the_bound_the_catalog_states() -> None:
    requirement = BY_ID["C2C-RECON-002"]
    assert requirement.timer_bound_h == DROPPED_WITHIN_H
    assert f"within {DROPPED_WITHIN_H} simulated hours" in requirement.statement


def test_scenarios_without_a_timer_bound_keep_their_speed() -> None:
    bounded = {r.scenario for r in CATALOG if r.timer_bound_h is not None}
    assert bounded == {"dropped_webhooks.yaml"}
    for path in sorted(SCENARIOS.glob("*.yaml")):
        if path.name not in bounded:
            scenario = load_scenario(path)
            assert served_speed(scenario, path) == black_box_speed(scenario), path.name


def test_the_fault_free_companion_keeps_the_usual_speed() -> None:
    _, calm, path = _companion(("dropped_webhooks.yaml", load_scenario(DROPPED), DROPPED))
    assert served_speed(calm, path) == black_box_speed(calm)


def test_the_slowest_run_starts_first() -> None:
    jobs = [(path.name, load_scenario(path), path) for path in sorted(SCENARIOS.glob("*.yaml"))]
    assert max(jobs, key=_served_length)[0] == "dropped_webhooks.yaml"
