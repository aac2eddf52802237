"""Webhook delivery faults fire, and the change feed is what saves the connector.

``tests/scenarios/delivery_faults.yaml`` is the baseline firm whose webhooks
are dropped, duplicated and delayed (so they arrive out of order), whose
connector endpoint is down for 40 hours across a month end (longer than the
sender's retry schedule), and whose change feeds keep only 40 events, so
a poller that falls behind meets 410. The reference connector must
reconcile anyway; a connector without feed polling, or without a resync on
410, must fail on exactly those faults and pass without them.
"""

from __future__ import annotations

import pytest

from simulator.run import SimulationResult, simulate
from simulator.scenario import load_scenario
from tests.broken_connectors import no_cursor_resync, no_feed_polling
from tests.conftest import ROOT

SEED = 1
MUTANT_SEED = 2  # a seed on which a lost event is found only by a resync after a 410 (not every seed loses one)
DELIVERY_FAULTS = ("webhook_drop", "webhook_duplicate", "webhook_delay", "endpoint_down")


@pytest.fixture(scope="module")
def faulty():
    return load_scenario(ROOT / "tests" / "scenarios" / "delivery_faults.yaml")


@pytest.fixture(scope="module")
def reference(faulty) -> SimulationResult:
    return simulate(faulty, seed=SEED)


def feed_gone(result: SimulationResult) -> int:
    return sum(n for (system, status), n in result.api_calls.items() if status == 410)


def test_every_delivery_fault_fires(reference: SimulationResult) -> None:
    for kind in DELIVERY_FAULTS:
        assert reference.fault_counts[kind] > 0, (kind, dict(reference.fault_counts))
    assert reference.kpis["webhooks"]["failed"] > 0, "the outage outlasts the sender's retries"
    assert feed_gone(reference) > 0, "a poll meets a cursor older than retention"


def test_reference_connector_reconciles_through_lost_and_late_webhooks(reference: SimulationResult) -> None:
    assert reference.reconciliation.ok, [str(m) for m in reference.reconciliation.mismatches[:5]]
    assert not list(reference.connector_storage.scan("dlq:"))


def test_duplicates_reach_the_connector_and_change_nothing(faulty) -> None:
    """Duplicated deliveries arrive twice (same webhook id) and are handled once: nothing is billed twice."""
    records: list[dict] = []
    result = simulate(faulty, seed=SEED, sink=records.append)
    duplicated = {r["event"] for r in records if r["kind"] == "fault" and r["fault"] == "webhook_duplicate"}
    delivered: dict[str, int] = {}
    for r in records:
        if r["kind"] == "webhook" and r["status"] == 200 and r["id"] in duplicated:
            delivered[r["id"]] = delivered.get(r["id"], 0) + 1
    assert duplicated and any(n >= 2 for n in delivered.values()), "some duplicates must reach the connector twice"
    assert result.reconciliation.ok and not result.reconciliation.over_billing


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
@pytest.mark.parametrize("mutant", [no_feed_polling, no_cursor_resync], ids=["no_feed_polling", "no_cursor_resync"])
def test_a_connector_without_the_defence_leaks_on_these_faults_alone(mutant, faulty, baseline) -> None:
    assert simulate(baseline, seed=MUTANT_SEED, factory=mutant.build).reconciliation.ok, "harmless without faults"
    result = simulate(faulty, seed=MUTANT_SEED, factory=mutant.build)
    assert not result.reconciliation.ok
    assert result.reconciliation.leakage, "lost events are work never billed"
