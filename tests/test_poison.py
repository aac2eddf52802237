"""Poison records: bad source data parks in the dead-letter queue, and converges once fixed at the source.

``tests/scenarios/poison.yaml`` plants three poison records:
a role missing from a contract's rate card (fixed by an amendment), an
account whose tax jurisdiction the ERP has no profile for (fixed in the
CRM), and a PSA project set up by hand under a mistyped contract reference
(fixed by an administrator), each fixed days or weeks later. The reference
connector must not block on them, must replay them once fixed, and must
end with nothing in its dead-letter queue; a connector that discards
messages after its last retry loses the work.
"""

from __future__ import annotations

import pytest

from simulator.run import SimulationResult, simulate
from simulator.scenario import load_scenario
from tests.broken_connectors import no_dead_letter_queue
from tests.conftest import ROOT

SEED = 1
POISON = ("poison_unknown_role", "poison_missing_tax_profile", "poison_unknown_project")


@pytest.fixture(scope="module")
def poisoned():
    return load_scenario(ROOT / "tests" / "scenarios" / "poison.yaml")


@pytest.fixture(scope="module")
def reference(poisoned) -> SimulationResult:
    return simulate(poisoned, seed=SEED)


def test_every_poison_kind_is_planted(reference: SimulationResult) -> None:
    for kind in POISON:
        assert reference.fault_counts[kind] > 0, dict(reference.fault_counts)


def test_poison_dead_letters_and_then_converges(reference: SimulationResult) -> None:
    assert reference.reconciliation.ok, [str(m) for m in reference.reconciliation.mismatches[:5]]
    storage = reference.connector_storage
    assert not list(storage.scan("dlq:")) and not list(storage.scan("inbox:"))
    assert storage.get("stats:dead_lettered", 0) > 0, "poisoned work exhausts its attempts: dead letters"
    assert storage.get("stats:replayed", 0) >= storage["stats:dead_lettered"], "and every one is replayed"


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_without_a_dead_letter_queue_the_poisoned_work_is_lost(poisoned, baseline) -> None:
    assert simulate(baseline, seed=SEED, factory=no_dead_letter_queue.build).reconciliation.ok, "harmless without poison"
    result = simulate(poisoned, seed=SEED, factory=no_dead_letter_queue.build)
    assert not result.reconciliation.ok
    assert result.reconciliation.leakage
