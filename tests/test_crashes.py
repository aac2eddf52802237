"""Crashes and restarts lose and duplicate nothing, because the connector's state is durable.

The connector process dies at random instants, right after a write it made
was committed (before it saw the answer), and for 30 hours across a month
end; each time a new process starts on the same SQLite file. The
reference connector must reconcile exactly; a connector that keeps its
state in memory must fail on crashes alone. A hypothesis search over the
instant of a mid-request kill looks for the one call after which a
restart would lose or duplicate money.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.run import SimulationResult, simulate
from simulator.scenario import Crashes, Faults, load_scenario
from simulator.storage import SqliteStorage
from tests.broken_connectors import no_durable_state
from tests.conftest import ROOT

SEED = 1


@pytest.fixture(scope="module")
def crashing():
    return load_scenario(ROOT / "tests" / "scenarios" / "crashes.yaml")


@pytest.fixture(scope="module")
def reference(crashing) -> SimulationResult:
    return simulate(crashing, seed=SEED)


def test_crashes_kills_and_downtime_all_happen(reference: SimulationResult) -> None:
    counts = reference.fault_counts
    assert counts["connector_crash"] > 10 and counts["process_killed"] > 0 and counts["connector_downtime"] == 1
    assert isinstance(reference.connector_storage, SqliteStorage), "a crashing connector keeps its state on disk"


def test_reference_connector_loses_and_duplicates_nothing(reference: SimulationResult) -> None:
    assert reference.reconciliation.ok, [str(m) for m in reference.reconciliation.mismatches[:5]]
    assert not list(reference.connector_storage.scan("inbox:"))
    assert not list(reference.connector_storage.scan("dlq:"))


@pytest.mark.slow  # a crash every 2 to 10 hours for the whole run: in the slow suite, which CI runs
def test_a_crash_during_downtime_does_not_start_a_second_instance(crashing) -> None:
    """Crashes every few hours overlap the 30-hour downtime; the host must still run one connector at a time."""
    from simulator.host import ConnectorHost

    alive: list[int] = []
    real_start = ConnectorHost.start

    def start(host) -> None:
        real_start(host)
        host.started = [*getattr(host, "started", []), host.scheduler]
        alive.append(sum(1 for scheduler in host.started if scheduler.alive))

    crashy = crashing.model_copy(update={"faults": crashing.faults.model_copy(update={
        "crashes": crashing.faults.crashes.model_copy(update={"every_hours": (2.0, 10.0)})})})
    ConnectorHost.start = start
    try:
        result = simulate(crashy, seed=SEED)
    finally:
        ConnectorHost.start = real_start
    assert result.fault_counts["connector_downtime"] == 1 and result.fault_counts["connector_crash"] > 50
    assert set(alive) == {1}, "two connector instances were alive on one storage"
    assert result.reconciliation.ok


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_without_durable_state_a_crash_bills_again(crashing, baseline) -> None:
    assert simulate(baseline, seed=SEED, factory=no_durable_state.build).reconciliation.ok, "harmless without crashes"
    # Two crashes are enough (each restart of this mutant rereads every feed from the start, so many are slow).
    few = crashing.model_copy(update={"faults": Faults(crashes=Crashes(
        at_calls=[1300], downtime=crashing.faults.crashes.downtime))})
    result = simulate(few, seed=SEED, factory=no_durable_state.build)
    assert not result.reconciliation.ok
    assert result.reconciliation.over_billing, "work redone after a restart is billed again"


SMALL = load_scenario(ROOT / "tests" / "scenarios" / "small.yaml")


@functools.cache
def calls_of_a_clean_run() -> int:
    """How many calls the connector makes on ``SMALL`` without a kill: run once, when a search first draws."""
    return simulate(SMALL, seed=SEED).total_api_calls


# Any call of the clean run to kill after; built when first drawn, so that collecting this module runs nothing.
ANY_CALL = st.deferred(lambda: st.integers(min_value=1, max_value=calls_of_a_clean_run()))


def kill_after(call: int) -> None:
    scenario = SMALL.model_copy(update={"faults": Faults(crashes=Crashes(at_calls=[call]))})
    result = simulate(scenario, seed=SEED)
    assert result.fault_counts["process_killed"] == 1
    assert result.reconciliation.ok, (call, [str(m) for m in result.reconciliation.mismatches[:3]])
    assert not list(result.connector_storage.scan("inbox:"))


@settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=ANY_CALL)
def test_a_kill_after_any_call_loses_and_duplicates_nothing(call: int) -> None:
    kill_after(call)


@pytest.mark.thorough
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=ANY_CALL)
def test_a_kill_after_any_call_loses_and_duplicates_nothing_thorough(call: int) -> None:
    kill_after(call)
