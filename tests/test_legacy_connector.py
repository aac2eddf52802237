"""The legacy nightly batch (reference_impl/legacy.py): right on a good day, leaking on a real one.

On plain time-and-materials work with no amendments, no adjustments and
no faults (``tests/scenarios/tm_only.yaml``) the brittle batch reconciles
to the minor unit, which is why such scripts survive. On the baseline firm
with HTTP faults (``scenarios/legacy_batch.yaml``) it leaks visibly against
the reference connector on the same firm and faults
(``scenarios/event_driven.yaml``): mismatches, money lost and billed
twice, disputes, and a slower path from approval to invoice.
"""

from __future__ import annotations

import pytest

from reference_impl.legacy import LegacyBatchConnector
from simulator.run import SimulationResult, simulate
from simulator.scenario import load_scenario
from tests.conftest import ROOT

SEED = 1


@pytest.fixture(scope="module")
def good_day() -> SimulationResult:
    return simulate(load_scenario(ROOT / "tests" / "scenarios" / "tm_only.yaml"), seed=SEED)


@pytest.fixture(scope="module")
def legacy() -> SimulationResult:
    return simulate(load_scenario(ROOT / "scenarios" / "legacy_batch.yaml"), seed=SEED)


@pytest.fixture(scope="module")
def event_driven() -> SimulationResult:
    return simulate(load_scenario(ROOT / "scenarios" / "event_driven.yaml"), seed=SEED)


def test_the_what_if_scenarios_differ_only_in_the_connector() -> None:
    legacy, modern = (load_scenario(ROOT / "scenarios" / f"{name}.yaml") for name in ("legacy_batch", "event_driven"))
    assert legacy.connector == "reference_impl.legacy:build"
    assert modern.connector == "reference_impl.connector:build"
    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    faulty = load_scenario(ROOT / "tests" / "scenarios" / "http_faults.yaml")
    ignore = {"name", "description", "connector"}
    assert legacy.model_dump(exclude=ignore) == modern.model_dump(exclude=ignore)
    assert legacy.model_dump(exclude=ignore | {"faults"}) == baseline.model_dump(exclude=ignore | {"faults"})
    assert legacy.faults == faulty.faults and legacy.faults.http


def test_legacy_prices_plain_tm_work_right_on_a_good_day_but_bills_the_month_end_late(
        good_day: SimulationResult) -> None:
    """Every value on the ledger is right; what it gets wrong is time. It dates each charge by its import
    night, not by the work date (``misdated_charge`` for work it charged in time for its run), so work approved
    on a month's last day misses that month's run (late), and work approved before the horizon's last run is
    never invoiced within it."""
    scenario = good_day.scenario
    assert set(scenario.contracts.billing_types) == {"time_and_materials"}
    assert scenario.amendments.probability == 0 and scenario.people.adjustment_rate == 0
    assert scenario.faults.model_dump() == type(scenario.faults)().model_dump()
    recon = good_day.reconciliation
    assert {m.rule for m in recon.mismatches} <= {"not_invoiced", "misdated_charge"}, \
        [str(m) for m in recon.mismatches[:5]]
    charged_on = {c.lineage["source_id"]: c.charge_date for c in good_day.systems.erp.charges.values()}
    misdated = [m for m in recon.mismatches if m.rule == "misdated_charge"]
    assert misdated and all(m.actual == charged_on[m.item.rpartition("/")[2]] != m.expected for m in misdated)
    last_cutoff = f"{scenario.end.isoformat()}T00:00:00Z"
    for mismatch in [m for m in recon.mismatches if m.rule == "not_invoiced"] + recon.late:
        settled = mismatch.detail.partition("final at ")[2][:20]
        assert settled[8:10] in ("28", "29", "30", "31") or settled[:10] == last_cutoff[:10], mismatch
    assert recon.late, "work approved on a month's last day is invoiced a run late"
    kpis = good_day.kpis
    assert kpis["invoices"]["count"] > 0 and recon.approved_billable_lines > 100
    assert kpis["over_billing"] == {}
    assert any(c.version > 1 for c in good_day.systems.erp.customers.values()), "account changes reach the ERP"
    assert good_day.connector_errors == []


def test_legacy_takes_no_webhooks_and_works_at_night(good_day: SimulationResult) -> None:
    assert LegacyBatchConnector.subscriptions == frozenset()
    assert good_day.kpis["webhooks"].get("delivered", 0) == 0
    erp = good_day.systems.erp
    created = [c.created_at for c in erp.customers.values()] + [c.created_at for c in erp.charges.values()]
    assert created and all("T02:00:00" <= t[10:] < "T06:00:00" for t in created), sorted({t[10:16] for t in created})
    # charges carry the night they were imported, not the work date
    assert all(c.charge_date == c.created_at[:10] for c in erp.charges.values())


def test_legacy_leaks_visibly_under_faults_and_amendments(legacy: SimulationResult,
                                                          event_driven: SimulationResult) -> None:
    assert event_driven.reconciliation.ok, [str(m) for m in event_driven.reconciliation.mismatches[:5]]
    kpis = legacy.kpis
    by_rule = kpis["reconciliation"]["mismatches_by_rule"]
    assert kpis["reconciliation"]["mismatches"] > 0
    assert sum(kpis["revenue_leakage"].values()) > 0
    assert sum(kpis["over_billing"].values()) > 0 or by_rule.get("duplicate_customer", 0) > 0
    assert by_rule.get("cap", 0) > 0, "capped contracts bill everything"
    assert kpis["invoices"]["disputed"] > event_driven.kpis["invoices"]["disputed"]


def test_an_adjusted_timesheet_is_billed_twice(legacy: SimulationResult) -> None:
    """A sheet corrected after it was charged is charged again in full when re-approved, nothing reversed."""
    erp = legacy.systems.erp
    assert not any(c.reversal_of for c in erp.charges.values())
    charges_per_line: dict[str, set[str]] = {}
    for charge in erp.charges.values():
        if charge.lineage.get("source_type") == "timesheet_line":
            charges_per_line.setdefault(charge.lineage["source_id"], set()).add(charge.lineage["approval_id"])
    assert any(len(approvals) > 1 for approvals in charges_per_line.values())


def test_legacy_is_slower_from_approval_to_invoice(legacy: SimulationResult, event_driven: SimulationResult) -> None:
    slow, fast = legacy.kpis, event_driven.kpis
    # Billing is monthly, so the median invoice waits for month end either way; the nightly batch shows in the
    # tail (approvals just before a cut-off miss it) and in how many charges reach an invoice at all.
    assert slow["invoices"]["cycle_time_hours"]["p95"] > fast["invoices"]["cycle_time_hours"]["p95"]
    assert slow["invoices"]["cycle_time_hours"]["count"] < fast["invoices"]["cycle_time_hours"]["count"]
    latency = "psa_approval_to_erp_charge_minutes"
    assert slow["sync_latency"][latency]["p50"] > 60 * fast["sync_latency"][latency]["p50"]
    assert slow["projects"]["project_setup_minutes"]["p50"] > fast["projects"]["project_setup_minutes"]["p50"]
