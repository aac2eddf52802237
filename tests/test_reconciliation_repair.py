"""Drift between the ERP and what the connector wrote, and the reconciliation that repairs it.

Two ways the ERP drifts with no event to tell the connector:

- ``tests/scenarios/drift.yaml``: the baseline firm, where after every
  billing run a finance user reverses one open, uninvoiced charge by hand
  (``faults.drift.manual_reversals``). The reference connector's monthly
  reconciliation finds each one, adopts the ERP's charges into its ledger
  and re-charges the item; a connector with the reconciliation switched
  off loses exactly the reversed amounts, and is clean without the drift.
- the baseline firm against an ERP that keeps idempotency keys for ten
  seconds, with the answer to every seventh charge batch lost after the ERP
  committed it: the retry, under an expired key, books the batch again.
  The ledger knows one copy; the reconciliation adopts both and undoes one.

Plus the pure comparison of :mod:`reference_impl.reconciliation` on
hand-made charge lists: pairs that cancel, releases, a reversal booked
twice, someone else's charge.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mocks.core import service
from mocks.core.idempotency import IdempotencyStore
from reference_impl.billing import WRITER
from reference_impl.connector import build as reference
from reference_impl.ledger import ItemRecord
from reference_impl.reconciliation import adopt, charge_map, compare, item_key, open_charges
from simulator.run import SimulationResult, simulate
from simulator.scenario import load_scenario
from tests.broken_connectors import no_reconciliation
from tests.conftest import ROOT

SEED = 1
LOSS_RULES = {"net_charge", "capped_item", "cap"}  # how lost money shows per item, and per capped contract


class Run:
    """A simulation, with the faults it fired kept from the trace."""

    def __init__(self, scenario, factory=None) -> None:
        self.faults: list[dict[str, Any]] = []
        self.result: SimulationResult = simulate(scenario, seed=SEED, factory=factory, sink=self._keep)

    def _keep(self, record: dict[str, Any]) -> None:
        if record["kind"] == "fault":
            self.faults.append(record)

    @property
    def reversals(self) -> list[dict[str, Any]]:
        return [f for f in self.faults if f["fault"] == "manual_reversal"]


def repairs(result: SimulationResult) -> dict[str, int]:
    return {key.split(":", 1)[1]: n for key, n in result.connector_storage.scan("repairs:")}


def repaired_items(result: SimulationResult) -> list[dict[str, Any]]:
    return [detail for _, detail in result.connector_storage.scan("repair:")]


def describe(result: SimulationResult) -> str:
    return "\n".join(str(m) for m in result.reconciliation.mismatches[:10])


@pytest.fixture(scope="module")
def drifting():
    return load_scenario(ROOT / "tests" / "scenarios" / "drift.yaml")


@pytest.fixture(scope="module")
def reference_run(drifting) -> Run:
    return Run(drifting)


@pytest.fixture(scope="module")
def mutant_run(drifting) -> Run:
    return Run(drifting, no_reconciliation.build)


# -- manual reversals ---------------------------------------------------------------------------


def test_the_drift_fires_after_billing_runs_including_the_last(reference_run: Run, drifting) -> None:
    reversals = reference_run.reversals
    assert reversals and reference_run.result.fault_counts["manual_reversal"] == len(reversals)
    erp = reference_run.result.systems.erp
    for fault in reversals:
        reversal = erp.charges[fault["reversal"]]
        assert reversal.reversal_of == fault["charge"] and reversal.amount == -fault["amount"]
        assert reversal.lineage["written_by"] != WRITER, "the finance user's, not the connector's"
    last_run = dt.datetime.combine(drifting.end, dt.time(6), dt.UTC).timestamp()
    assert any(f["t"] > last_run for f in reversals), "drift after the last billing run, repaired in the settle days"
    assert any(f["held"] for f in reversals) and any(not f["held"] for f in reversals), "held and billable charges"


def test_the_reference_connector_repairs_every_manual_reversal(reference_run: Run) -> None:
    result = reference_run.result
    assert result.reconciliation.ok, describe(result)
    assert sum(repairs(result).values()) == len(repaired_items(result)) > 0
    repaired = {detail["item"]: detail for detail in repaired_items(result)}
    assert set(repaired) == {f["item"] for f in reference_run.reversals}, "repairs are exactly the drifted items"
    for fault in reference_run.reversals:
        assert fault["charge"] in repaired[fault["item"]]["detail"], repaired[fault["item"]]
    storage = result.connector_storage
    assert not list(storage.scan("inbox:")) and not list(storage.scan("dlq:"))
    assert not list(storage.scan("reconcile_pending:")), "every drifted item was re-settled"
    assert not list(storage.scan("foreign_charge:")), "a reversal closes a charge; it is not a charge of its own"
    assert result.connector_errors == []


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_without_reconciliation_exactly_the_reversed_items_lose_money(mutant_run: Run) -> None:
    result = mutant_run.result
    assert not result.reconciliation.ok
    reversed_amounts = {f["item"]: f["amount"] for f in mutant_run.reversals}
    per_item = {m.item: m for m in result.reconciliation.mismatches if m.rule in ("net_charge", "capped_item")}
    assert set(per_item) == set(reversed_amounts), describe(result)
    for item, m in per_item.items():
        got = m.actual if m.rule == "net_charge" else m.actual["billed"] + m.actual["held"]
        assert m.expected - got == reversed_amounts[item], str(m)
    erp = result.systems.erp
    contracts = {f"clm:contract/{erp.charges[f['charge']].lineage['contract_id']}" for f in mutant_run.reversals}
    others = [m for m in result.reconciliation.mismatches if m.item not in per_item]
    assert all(m.rule == "cap" and m.item in contracts for m in others), describe(result)
    assert {m.rule for m in result.reconciliation.mismatches} <= LOSS_RULES
    assert result.reconciliation.leakage and not result.reconciliation.over_billing
    assert repairs(result) == {} and result.connector_errors == []


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_without_reconciliation_the_connector_is_clean_when_nobody_drifts(baseline) -> None:
    result = simulate(baseline, seed=SEED, factory=no_reconciliation.build)
    assert result.reconciliation.ok, describe(result)


def test_the_mutant_documents_its_defect_and_has_a_factory() -> None:
    assert no_reconciliation.__doc__ and len(no_reconciliation.__doc__.split()) > 40
    assert callable(no_reconciliation.build)


# -- retries under an expired idempotency key ------------------------------------------------------


class LosesBatchAnswers:
    """The connector's ERP client: every ``every``-th committed charge batch before ``until`` answers with a timeout."""

    def __init__(self, http: Any, now: Callable[[], float], every: int, until: float, lost: set[str]) -> None:
        self._http, self._now, self._every, self._until, self.lost = http, now, every, until, lost
        self._batches = 0

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, url, **kwargs)
        if method == "POST" and url.endswith("/charge-batches") and response.is_success and self._now() < self._until:
            self._batches += 1
            if self._batches % self._every == 0:
                self.lost.update(item_key(c["lineage"]) for c in kwargs["json"]["charges"])
                raise httpx.ReadTimeout("the ERP committed the batch; its answer was lost", request=response.request)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


def losing_batch_answers(factory: Callable[[Any], Any], lost: set[str], until: dt.datetime) -> Callable[[Any], Any]:
    def build(runtime: Any) -> Any:
        connector = factory(runtime)
        erp = connector.clients["erp"]
        erp.http = LosesBatchAnswers(erp.http, runtime.clock.now, 7, until.timestamp(), lost)
        return connector
    return build


@pytest.fixture(scope="module")
def short_lived_keys():
    with pytest.MonkeyPatch.context() as patch:  # an ERP that forgets Idempotency-Keys after ten seconds
        patch.setattr(service, "IdempotencyStore", functools.partial(IdempotencyStore, retention_s=10.0))
        yield


@pytest.mark.parametrize("factory", [
    pytest.param(reference, id="reference"),
    # a planted defect's whole run: in the slow suite, which CI runs
    pytest.param(no_reconciliation.build, id="no_reconciliation", marks=pytest.mark.slow)])
def test_a_batch_booked_twice_under_an_expired_key_is_undone(factory, baseline, short_lived_keys) -> None:
    lost: set[str] = set()
    until = dt.datetime(2026, 3, 25, tzinfo=dt.UTC)  # the last reconciliation (April 2nd) sees every duplicate
    result = simulate(baseline, seed=SEED, factory=losing_batch_answers(factory, lost, until))
    assert lost, "answers were lost"
    if factory is reference:
        assert result.reconciliation.ok, describe(result)
        details = repaired_items(result)
        assert details and all(d["item"] in lost for d in details), "only the duplicated items are repaired"
        assert any("unknown to the ledger" in d["detail"] for d in details)
    else:
        assert not result.reconciliation.ok and result.reconciliation.over_billing
        per_item = {m.item for m in result.reconciliation.mismatches if m.rule in ("net_charge", "capped_item")}
        assert per_item and per_item <= lost, describe(result)


# -- the comparison, by hand ------------------------------------------------------------------------


def charge(charge_id: str, amount: int, status: str = "unbilled", item: str = "L1", reverses: str | None = None,
           writer: str = WRITER) -> dict[str, Any]:
    lineage = {"source_system": "psa", "source_type": "timesheet_line", "source_id": item, "written_by": writer,
               "approval_id": "apr_1"}
    return {"id": charge_id, "amount": amount, "status": status, "reversal_of": reverses, "charge_date": "2026-01-05",
            "lineage": lineage}


KEY = "psa:timesheet_line/L1"


def test_a_charge_and_its_reversal_cancel_and_a_second_reversal_stays_open() -> None:
    items, foreign = open_charges([
        charge("c1", 100, "invoiced"), charge("c2", -100, "unbilled", reverses="c1"),  # cancelled, across invoices
        charge("c3", 120, "invoiced"), charge("c4", -120, reverses="c3"), charge("c5", -120, reverses="c3"),
    ])
    assert foreign == []
    assert items[KEY].billable == [["c5", -120]], "booked twice, the reversal still takes money off the item"


def test_a_release_is_counted_through_its_parts_and_buckets_stay_apart() -> None:
    released = {**charge("h1", 300, "released")}
    items, _ = open_charges([released, charge("p1", 100, "unbilled"), charge("p2", 200, "held"),
                             charge("h2", 50, "held"), charge("r2", -50, "unbilled", reverses="h2")])
    assert items[KEY].billable == [["p1", 100], ["r2", -50]], "an unbilled reversal does not cancel a held charge"
    assert items[KEY].held == [["p2", 200], ["h2", 50]]
    assert charge_map(items) == {"p1": (KEY, 100, "billable"), "r2": (KEY, -50, "billable"),
                                 "p2": (KEY, 200, "held"), "h2": (KEY, 50, "held")}


def test_someone_elses_charge_is_reported_apart_but_their_reversal_still_closes_ours() -> None:
    items, foreign = open_charges([charge("c1", 100), charge("c2", -100, reverses="c1", writer="erp-user:finance"),
                                   charge("m1", 80, item="L2", writer="legacy-sweep")])
    assert items == {} and [c["id"] for c in foreign] == ["m1"]


def test_compare_names_each_drifted_item_and_adopt_takes_the_erps_side() -> None:
    known = ItemRecord(KEY, "ctr_1", "2026-01-05", billable=[["c1", 100]], writes=3)
    right = ItemRecord("psa:timesheet_line/L3", "ctr_1", "2026-01-05", held=[["h1", 40]])
    items, _ = open_charges([charge("c1", 100), charge("c9", 100), charge("h1", 40, "held", item="L3"),
                             charge("n1", 70, item="L2")])
    drifts = compare([known, right], items)
    assert [d.key for d in drifts] == [KEY, "psa:timesheet_line/L2"]
    assert drifts[0].unknown_to_ledger == ["c9"] and drifts[0].gone_from_erp == []
    adopted = adopt(known, drifts[0], "ctr_1", items[KEY])
    assert adopted.billable == [["c1", 100], ["c9", 100]] and adopted.writes == 4, "the next write uses a fresh key"
    new = adopt(None, drifts[1], "ctr_1", items["psa:timesheet_line/L2"])
    assert (new.key, new.billable, new.facts, new.lineage["source_id"]) == ("psa:timesheet_line/L2", [["n1", 70]], {}, "L2")
    gone = compare([ItemRecord(KEY, "ctr_1", "2026-01-05", billable=[["c1", 100]])],
                   open_charges([charge("c1", 100), charge("c2", -100, reverses="c1")])[0])
    assert gone[0].gone_from_erp == ["c1"] and "no longer open in the ERP: c1" in gone[0].describe()
