"""Attribution survives different ids: a fault-free companion run names the same work the same way.

Found: for a pure billing defect, the lost-responses scenario and its
fault-free companion gave the same work different PSA ids (the firm picked
teams when the connector's project appeared, and keyed its choices by ids
the PSA assigns in creation order), so only 9 of 36 mismatches matched and
C2C-IDEMP-002 blamed the faults for a wrong rate. The firm now decides by
business keys, and runs are compared by business key.
"""

from __future__ import annotations

from conformance.checks.evidence import caused_by_faults
from conformance.observation import keys_of, observe
from conformance.ownership import defect_of
from simulator.scenario import Faults, load_scenario
from tests.broken_connectors import wrong_rate
from tests.conftest import ROOT

SCENARIOS = ROOT / "conformance" / "scenarios"


def test_a_billing_defect_is_not_blamed_on_lost_responses() -> None:
    path = SCENARIOS / "lost_responses.yaml"
    scenario = load_scenario(path)
    faulty = observe(scenario, path, 1, wrong_rate.build)
    calm = observe(scenario.model_copy(update={"faults": Faults()}), path, 1, wrong_rate.build)
    assert len(calm.result.reconciliation.mismatches) > 10  # the defect shows on a good day too
    # the billing scenario's requirements claim these defects (as C2C-BILL-002 does in a session)
    claimed = {defect_of(m): ["C2C-BILL-002"] for m in calm.result.reconciliation.mismatches}
    assert caused_by_faults(faulty, calm, lambda: claimed).findings == []


def test_a_scenario_and_its_fault_free_companion_name_the_same_work_alike() -> None:
    path = SCENARIOS / "fault_storm.yaml"
    scenario = load_scenario(path)
    from reference_impl.connector import build

    faulty = observe(scenario, path, 1, build)
    calm = observe(scenario.model_copy(update={"faults": Faults()}), path, 1, build)
    work = [set(v for k, v in keys_of(run).items() if not k.startswith("psa:project/")) for run in (faulty, calm)]
    shared = len(work[0] & work[1])
    assert shared >= 0.98 * max(len(work[0]), len(work[1])), (shared, len(work[0]), len(work[1]))
