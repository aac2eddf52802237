"""The monthly reconciliation reads a contract in full only when something changed since it last agreed.

The reference keeps, per contract, the ``ETag`` of the ERP's listing of its charges when it last found the ERP and
its ledger in step, and the ledger's revision of the contract then. The next month it asks again with
``If-None-Match``: a 304 while the ledger's revision is the same means neither side moved, and the contract is not
read. A firm's finished contracts then cost one small answer a month instead of every charge they ever had.

What must still hold, on a firm whose contracts finish within the run:

- a finance user's reversal, by hand, of a charge on a contract the reconciliation had just found unchanged is
  found the next month (the ERP's tag moved), and the item is charged again;
- a ledger record changed with nothing written to the ERP (here: one of its open charges forgotten) is found too
  (the ledger's revision moved), and the ledger adopts the ERP's charges again;
- a restarted connector reads everything again (a new ledger epoch);
- the ERP is right at the end.

Each is shown to fail against a reconciler broken in exactly that way (``tests/broken_connectors/``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reference_impl.connector import ReferenceConnector
from reference_impl.ledger import Ledger
from reference_impl.reconciler import Reconciler
from simulator.firm.drift import reverse_by_hand
from simulator.run import simulate
from simulator.scenario import load_scenario
from simulator.storage import MemoryStorage
from tests.broken_connectors.ignores_own_ledger_changes import ErpOnlyReconciler
from tests.broken_connectors.trusts_its_last_reconciliation import TrustingReconciler
from tests.conftest import ROOT


class Observed:
    """Mixed into a reconciler: logs each contract's outcome, ``unchanged`` (the charges not read) or ``read``, with
    the drifts found; ``after`` is called with each outcome."""

    log: list[tuple[str, str, str, int]]
    after: Callable[[Reconciler, str, str], None]
    _read: bool

    def read_charges(self, project_id: str, etag: str | None):
        charges, tag = super().read_charges(project_id, etag)
        self._read = charges is not None
        return charges, tag

    def reconcile_contract(self, contract_id: str) -> int:
        self._read = True
        drifts = super().reconcile_contract(contract_id)
        outcome = "read" if self._read else "unchanged"
        self.log.append((self._month(), contract_id, outcome, drifts))
        self.after(self, contract_id, outcome)
        return drifts


def observe(folder: Path, reconciler: type[Reconciler]) -> dict[str, Any]:
    """A firm whose contracts finish within the run, reconciled by ``reconciler`` (observed); after the first
    contract found unchanged, a finance user reverses one of its charges; after the next, its ledger forgets one."""
    scenario_file = folder / "finishing.yaml"
    scenario_file.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: finishing\nmonths: 6\n"
                             "firm: {consultants: 20}\ncontracts: {duration_months: [2, 2]}\n")
    scenario = load_scenario(scenario_file)
    found: dict[str, Any] = {"log": [], "reversed": None, "forgotten": None}
    erp_of: list[Any] = []
    observed = type(f"Observed{reconciler.__name__}", (Observed, reconciler), {})

    def after(reconciler: Reconciler, contract_id: str, outcome: str) -> None:
        if outcome != "unchanged":
            return
        if found["reversed"] is None:
            reversed_id = _reverse_by_hand(erp_of[0], reconciler, contract_id)
            found["reversed"] = (contract_id, reversed_id) if reversed_id else None
        elif found["forgotten"] is None and contract_id != found["reversed"][0]:
            forgotten_id = _forget_a_charge(reconciler, contract_id)
            found["forgotten"] = (contract_id, forgotten_id) if forgotten_id else None

    class Connector(ReferenceConnector):
        def build_reconciler(self) -> Reconciler:
            built = observed(self.runtime, self.clients, self.ledger, self.writer, self.mappings, self.contracts,
                             self.valuation, self.settlement, self.inbox, self.drain)
            built.log, built.after = found["log"], after
            return built

    found["result"] = simulate(scenario, seed=1, factory=Connector,
                               started=lambda systems, faults, transport: erp_of.append(systems.erp))
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Any]:
    return observe(tmp_path_factory.mktemp("conditional"), Reconciler)


def _reverse_by_hand(erp: Any, reconciler: Reconciler, contract_id: str) -> str | None:
    """A finance user reverses one of the contract's open charges, straight in the ERP; returns its id (None if the
    contract has none)."""
    project_id = reconciler.mappings.recall("billing_project", contract_id)
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    charge = next((c for c in erp.charges.values()
                   if c.billing_project_id == project_id and c.status in ("unbilled", "invoiced") and c.amount > 0
                   and c.reversal_of is None and c.id not in reversed_ids), None)
    if charge is None:
        return None
    reverse_by_hand(erp, charge)
    return charge.id


def _forget_a_charge(reconciler: Reconciler, contract_id: str) -> str | None:
    """The ledger loses one open charge of the contract, with nothing written to the ERP; returns its id (None if
    the contract has none)."""
    record = next((r for r in reconciler.ledger.items_of(contract_id) if r.billable), None)
    if record is None:
        return None
    charge_id = record.billable.pop(0)[0]
    reconciler.ledger.save(record)
    reconciler.writer.invalidate(contract_id)
    return charge_id


def _outcomes_after(log: list[tuple[str, str, str, int]], contract_id: str, month: str) -> list[tuple[str, int]]:
    return [(outcome, drifts) for at, contract, outcome, drifts in log if contract == contract_id and at > month]


def _first_unchanged(log: list[tuple[str, str, str, int]], contract_id: str) -> str:
    return next(at for at, contract, outcome, _ in log if contract == contract_id and outcome == "unchanged")


def test_finished_contracts_are_not_read_again(run) -> None:
    outcomes = [outcome for _, _, outcome, _ in run["log"]]
    assert outcomes.count("unchanged") >= 5, outcomes
    assert run["result"].reconciliation.ok, [str(m) for m in run["result"].reconciliation.mismatches[:5]]


def test_a_reversal_by_hand_on_an_unchanged_contract_is_found_the_next_month(run) -> None:
    assert run["reversed"] is not None, "no contract was found unchanged"
    contract_id, _ = run["reversed"]
    after = _outcomes_after(run["log"], contract_id, _first_unchanged(run["log"], contract_id))
    assert after and after[0][0] == "read" and after[0][1] >= 1, after
    result = run["result"]
    assert result.reconciliation.ok, [str(m) for m in result.reconciliation.mismatches[:5]]


def test_a_ledger_changed_without_the_erp_is_read_in_full_the_next_month(run) -> None:
    assert run["forgotten"] is not None, "no second contract was found unchanged"
    contract_id, _ = run["forgotten"]
    after = _outcomes_after(run["log"], contract_id, _first_unchanged(run["log"], contract_id))
    assert after and after[0] == ("read", 1), after


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_a_reconciler_that_never_asks_the_erp_loses_the_reversal(tmp_path) -> None:
    """tests/broken_connectors/trusts_its_last_reconciliation.py: "unchanged" without a 304."""
    broken = observe(tmp_path, TrustingReconciler)
    contract_id, _ = broken["reversed"]
    after = _outcomes_after(broken["log"], contract_id, _first_unchanged(broken["log"], contract_id))
    assert after and all(outcome == "unchanged" for outcome, _ in after), after
    assert not broken["result"].reconciliation.ok, "the reversed money was never charged again"


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_a_reconciler_that_ignores_its_ledger_misses_what_it_forgot(tmp_path) -> None:
    """tests/broken_connectors/ignores_own_ledger_changes.py: a 304 trusted although the ledger moved."""
    broken = observe(tmp_path, ErpOnlyReconciler)
    contract_id, _ = broken["forgotten"]
    after = _outcomes_after(broken["log"], contract_id, _first_unchanged(broken["log"], contract_id))
    assert after and after[0] == ("unchanged", 0), after


def test_a_restart_moves_every_contract_s_ledger_revision() -> None:
    storage = MemoryStorage()
    before = Ledger(storage).revision("ctr-1")
    after_restart = Ledger(storage)
    assert after_restart.revision("ctr-1") != before
    unchanged = after_restart.revision("ctr-1")
    assert after_restart.revision("ctr-1") == unchanged
