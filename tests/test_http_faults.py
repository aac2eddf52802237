"""HTTP faults fire, and the reference connector's defences are what save it.

``tests/scenarios/http_faults.yaml`` is the baseline firm with every HTTP
fault a scenario can script: 5xx, timeouts before commit, responses lost after
commit, connection resets, outage windows on the PSA (across a month end)
and the ERP, and a tight ERP rate limit. Each fault kind must actually fire
(the run counts them), the reference connector must still reconcile to
the minor unit with nothing left in its dead-letter queue, and a connector
missing exactly one defence must fail on the fault that defence is for,
while passing the fault-free baseline.
"""

from __future__ import annotations

import pytest

from mocks.core.faults import HTTP_FAULTS
from simulator.run import SimulationResult, simulate
from simulator.scenario import load_scenario
from tests.broken_connectors import ignores_retry_after, no_idempotency_keys
from tests.conftest import ROOT

SEED = 1


@pytest.fixture(scope="module")
def faulty():
    return load_scenario(ROOT / "tests" / "scenarios" / "http_faults.yaml")


@pytest.fixture(scope="module")
def reference(faulty) -> SimulationResult:
    return simulate(faulty, seed=SEED)


def test_every_http_fault_kind_fires(reference: SimulationResult) -> None:
    for kind in (*HTTP_FAULTS, "latency"):
        assert reference.fault_counts[kind] > 0, (kind, dict(reference.fault_counts))
    assert reference.kpis["api_calls"]["erp"]["rate_limited_429"] > 0
    assert reference.trace_counts["fault"] == sum(reference.fault_counts.values())


def test_reference_connector_reconciles_through_the_faults(reference: SimulationResult) -> None:
    recon = reference.reconciliation
    assert recon.ok, [str(m) for m in recon.mismatches[:5]]
    assert reference.kpis["invoices"]["count"] > 0


def test_nothing_is_left_in_the_inbox_or_the_dead_letter_queue(reference: SimulationResult) -> None:
    storage = reference.connector_storage
    assert not list(storage.scan("inbox:")), "work left pending at the end of the run"
    assert not list(storage.scan("dlq:")), "dead letters left unreplayed at the end of the run"


def test_reference_connector_honours_retry_after(reference: SimulationResult) -> None:
    assert reference.kpis["api_calls"]["erp"]["early_retries"] == 0


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_without_idempotency_keys_a_lost_response_books_twice(faulty, baseline) -> None:
    """Without keys a retried create books twice. The monthly reconciliation (which this mutant inherits)
    reverses duplicated charges of its own, but a second ERP customer for one account stays: it is caught."""
    clean = simulate(baseline, seed=SEED, factory=no_idempotency_keys.build)
    assert clean.reconciliation.ok, "the defect must be harmless without faults"
    result = simulate(faulty, seed=SEED, factory=no_idempotency_keys.build)
    rules = {m.rule for m in result.reconciliation.mismatches}
    assert rules & {"duplicate_customer", "duplicate_billing_project", "net_charge", "capped_item"}, rules
    assert "duplicate_customer" in rules or result.reconciliation.over_billing


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_ignoring_retry_after_is_seen_by_the_rate_limiter(faulty, baseline) -> None:
    assert simulate(baseline, seed=SEED, factory=ignores_retry_after.build).reconciliation.ok, "harmless unthrottled"
    result = simulate(faulty, seed=SEED, factory=ignores_retry_after.build)
    assert result.kpis["api_calls"]["erp"]["early_retries"] > 0


def test_a_windowed_rule_fires_only_inside_its_window(faulty) -> None:
    """The latency rule is scripted for three days in February; it slows nothing outside them."""
    records: list[dict] = []
    result = simulate(faulty, seed=SEED, sink=records.append)
    rule = next(r for r in faulty.faults.http if r.kind == "latency")
    start = rule.windows[0].start.timestamp()
    end = start + rule.windows[0].hours * 3600
    slowed = [r for r in records if r["kind"] == "fault" and r["fault"] == "latency"]
    assert slowed and all(start <= r["t"] < end for r in slowed)
    assert any(r["seconds"] > 5 for r in slowed), "some answers are slower than the client's 5 s read timeout"
    assert result.reconciliation.ok
