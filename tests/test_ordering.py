"""Ordering: late, duplicated and retried account updates never leave a stale customer in the ERP.

``tests/scenarios/ordering.yaml`` is the baseline firm where every account
changes every month, webhooks arrive late (so later events overtake them)
or twice, and a third of the ERP's customer PATCHes fail with a 5xx, so
updates are retried while others get through. The reference connector
reads the account when it works an update and skips versions the ERP
customer already reflects, so it must end with no master-data mismatch.

``tests/broken_connectors/last_write_wins.py`` plants the classic defect:
it applies the account snapshot taken when the update arrived, with no
version check. It can only go wrong when a newer update of the same
account gets through while an older one is still being retried. The
scenario makes that happen: half the monthly edits are corrected again
minutes later (``account_correction_share``), so a correction and its
original are in flight together, and on ``MUTANT_SEED`` the older one lands
last. The mutant then ends with stale customers, and only those (a whole
run of its own, in the slow suite that CI runs); without faults it is clean.
"""

from __future__ import annotations

import pytest

from simulator.run import SimulationResult, simulate
from simulator.scenario import Faults, load_scenario
from tests.broken_connectors import last_write_wins
from tests.conftest import ROOT

SEED = 1
MUTANT_SEED = 2  # a seed on which a correction and its original are in flight together and the older lands last


@pytest.fixture(scope="module")
def ordering():
    return load_scenario(ROOT / "tests" / "scenarios" / "ordering.yaml")


@pytest.fixture(scope="module")
def reference(ordering) -> SimulationResult:
    return simulate(ordering, seed=SEED)


def describe(result: SimulationResult) -> str:
    return "\n".join(str(m) for m in result.reconciliation.mismatches[:10])


def test_updates_are_reordered_and_retried(reference: SimulationResult) -> None:
    for kind in ("webhook_delay", "webhook_duplicate", "server_error"):
        assert reference.fault_counts[kind] > 0, dict(reference.fault_counts)
    crm = reference.systems.crm
    assert sum(account.version - 1 for account in crm.accounts.values()) >= 2 * len(crm.accounts), "monthly updates"
    assert sum(n for (system, status), n in reference.api_calls.items() if system == "erp" and status >= 500) > 0


def test_the_reference_connector_never_keeps_a_stale_customer(reference: SimulationResult) -> None:
    assert reference.reconciliation.ok, describe(reference)
    assert not list(reference.connector_storage.scan("dlq:"))


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_the_mutant_documents_its_defect_and_is_clean_without_faults(ordering) -> None:
    assert last_write_wins.__doc__ and len(last_write_wins.__doc__.split()) > 40
    calm = ordering.model_copy(update={"faults": Faults()})
    result = simulate(calm, seed=SEED, factory=last_write_wins.build)
    assert result.reconciliation.ok, describe(result)


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_last_write_wins_leaves_stale_customers(ordering) -> None:
    assert simulate(ordering, seed=MUTANT_SEED).reconciliation.ok, "the reference connector is clean on this seed"
    result = simulate(ordering, seed=MUTANT_SEED, factory=last_write_wins.build)
    stale = [m for m in result.reconciliation.mismatches if m.rule == "customer_master_data"]
    assert stale and all(m.item.startswith("crm:account/") for m in stale), describe(result)
    assert {m.rule for m in result.reconciliation.mismatches} == {"customer_master_data"}
