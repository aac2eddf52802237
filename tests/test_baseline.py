"""The baseline scenario with the reference connector: the yardstick must be clean.

One run (module-scoped) of ``scenarios/baseline.yaml``, seed 1; each test
reads a different face of the same result: invoices, the oracle's coverage,
the money KPIs and the lineage on every posted invoice line.
"""

from __future__ import annotations

from collections import Counter

import pytest

from simulator.oracle import reconcile
from simulator.run import SimulationResult

SEED = 1
LINEAGE_FIELDS = ("contract_id", "contract_version", "source_id", "source_version", "approval_id")


@pytest.fixture(scope="module")
def result(baseline, simulation) -> SimulationResult:
    return simulation(baseline, SEED)


def approved_billable_line_items(result: SimulationResult) -> set[str]:
    psa = result.systems.psa
    return {f"psa:timesheet_line/{line.id}" for ts in psa.timesheets.values() if ts.status == "approved"
            for line in ts.lines if line.billable}


def test_invoices_are_posted(result: SimulationResult) -> None:
    invoices = result.kpis["invoices"]
    assert invoices["count"] > 0
    assert invoices["lines"] > 0
    assert invoices["count"] == sum(1 for i in result.systems.erp.invoices.values() if i.status == "posted")


def test_reconciliation_is_clean(result: SimulationResult) -> None:
    recon = result.kpis["reconciliation"]
    assert recon["mismatches"] == 0, "\n".join(str(m) for m in result.reconciliation.mismatches[:10])
    assert recon["mismatches_by_rule"] == {}
    assert result.reconciliation.ok
    assert result.connector_errors == []


def test_oracle_counts_the_approved_billable_lines(result: SimulationResult) -> None:
    recon = result.kpis["reconciliation"]
    lines = approved_billable_line_items(result)
    assert recon["items_checked"] >= recon["approved_billable_lines"] > 0
    assert recon["approved_billable_lines"] == len(lines)


def test_oracle_checks_every_approved_billable_line(result: SimulationResult) -> None:
    """Black-box coverage: with the ERP's ledger emptied, every approved billable line must be reported unbilled."""
    erp = result.systems.erp
    charges, erp.charges = erp.charges, {}
    try:
        blank = reconcile(result.systems, result.truth)
    finally:
        erp.charges = charges
    assert blank.items_checked == result.reconciliation.items_checked
    reported = {m.item: m for m in blank.mismatches if m.rule in ("net_charge", "capped_item")}
    unchecked = approved_billable_line_items(result) - set(reported)
    assert not unchecked, f"{len(unchecked)} approved billable lines the oracle never checked, e.g. {sorted(unchecked)[:5]}"
    for item in approved_billable_line_items(result):
        assert reported[item].expected > 0, str(reported[item])


def test_no_revenue_leakage_or_over_billing(result: SimulationResult) -> None:
    assert result.kpis["revenue_leakage"] == {}
    assert result.kpis["over_billing"] == {}
    assert result.kpis["invoices"]["disputed"] == 0, "a right invoice gives a customer nothing to dispute"


def test_every_posted_invoice_line_traces_to_its_source(result: SimulationResult) -> None:
    erp, psa, clm = result.systems.erp, result.systems.psa, result.systems.clm
    approvals = {a["approval_id"]: a for a in psa.approvals}
    posted = [i for i in erp.invoices.values() if i.status == "posted"]
    assert posted
    lines = 0
    for invoice in posted:
        contract_ref = erp.billing_projects[invoice.billing_project_id].contract_ref
        for line in invoice.lines:
            lines += 1
            lineage = line["lineage"]
            where = f"invoice {invoice.number} line {line['charge_id']}"
            # A retainer period has no approval: its lineage names the period instead.
            required = [f for f in LINEAGE_FIELDS if not (f == "approval_id" and lineage.get("source_type") ==
                                                         "retainer_period")]
            if lineage.get("source_type") == "retainer_period":
                required.append("period")
            missing = [f for f in required if lineage.get(f) in (None, "")]
            assert not missing, f"{where}: lineage lacks {missing}: {lineage}"
            assert lineage["contract_id"] == contract_ref, where
            assert 1 <= lineage["contract_version"] <= clm.contracts[contract_ref].version, where
            if lineage.get("source_type", "timesheet_line") != "timesheet_line":
                continue
            timesheet, source = psa.lines[lineage["source_id"]]
            assert source.billable, where
            approval = approvals.get(lineage["approval_id"])
            assert approval is not None, f"{where}: approval {lineage['approval_id']} is unknown to the PSA"
            approved = approval.get("entity_id") or approval.get("timesheet_id")
            assert (approved, approval["version"]) == (timesheet.id, lineage["source_version"]), where
    assert lines == result.kpis["invoices"]["lines"]


def test_adjustments_happen_at_the_scenario_rate_not_in_a_loop(result: SimulationResult, baseline) -> None:
    """A re-approved sheet is adjusted again only by fresh chance: each review draws from its own stream.

    (A review that reused the first review's stream replayed its draws: every
    adjusted sheet was then adjusted again after each re-approval, until the
    end of the run.)
    """
    approvals = Counter(a["entity_id"] for a in result.systems.psa.approvals if a["kind"] == "timesheet")
    adjusted = sum(1 for n in approvals.values() if n > 1)
    assert adjusted > 0
    readjusted = sum(1 for n in approvals.values() if n > 2)
    rate = baseline.people.adjustment_rate
    assert readjusted <= max(1, 3 * rate * adjusted), (adjusted, readjusted)
