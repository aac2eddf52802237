"""BILL and TRACE: the billing rules of DESIGN §6, read from the oracle on the fault-free billing scenario.

The oracle names a rule and an item for every mismatch; these checks say
which requirement a mismatch breaks, so a vendor reads "milestone billed
twice", not "net_charge". The attribution, item by item:

- caps: the oracle's ``cap`` and ``capped_item`` rules;
- milestones and retainers: net charges on milestone and retainer-period items;
- rounding: a timesheet line or expense off by exactly one minor unit;
- adjustments: a line of a sheet approved more than once (adjusted after
  approval), off by more than one minor unit;
- rates: any other timesheet line or expense off by more than one minor unit;
- retro amendments: any hourly item of an amended contract, dated on or
  after the amendment's effective date, in the all-retro scenario;
- master data, lineage, write-back: their own oracle rules.
"""

from __future__ import annotations

from collections import Counter

from conformance.checks.registry import CheckContext, Evidence, check, oracle_findings
from conformance.observation import Observation
from simulator.oracle import Mismatch

BILLING = "billing.yaml"
AMENDMENTS = "amendments.yaml"
HOURLY_RULES = ("net_charge", "capped_item", "cap")


def _kind(mismatch: Mismatch) -> str:
    return mismatch.item.partition(":")[2].partition("/")[0]


def _off_by(mismatch: Mismatch) -> int | None:
    if isinstance(mismatch.expected, int) and isinstance(mismatch.actual, int):
        return abs(mismatch.expected - mismatch.actual)
    return None


def _adjusted_sheets(observation: Observation) -> frozenset[str]:
    approvals = Counter(a["entity_id"] for a in observation.result.systems.psa.approvals if a["kind"] == "timesheet")
    return frozenset(sheet for sheet, n in approvals.items() if n > 1)


def _sheet_of(observation: Observation, mismatch: Mismatch) -> str | None:
    found = observation.result.systems.psa.lines.get(mismatch.item.rpartition("/")[2])
    return found[0].id if found else None


@check("C2C-BILL-001")
def caps(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), ("cap", "capped_item"))


@check("C2C-BILL-002")
def rates(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    adjusted = _adjusted_sheets(run)
    return oracle_findings(run, ("net_charge",), lambda m: _kind(m) in ("timesheet_line", "expense")
                           and (_off_by(m) or 0) > 1 and _sheet_of(run, m) not in adjusted)


@check("C2C-BILL-003")
def retro_amendments(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(AMENDMENTS)
    psa, clm = run.result.systems.psa, run.result.systems.clm

    def retro(m: Mismatch) -> bool:
        if _kind(m) == "contract" or m.rule == "cap":
            contract = clm.contracts.get(m.item.rpartition("/")[2])
            return contract is not None and contract.terms.effective_date is not None
        found = psa.lines.get(m.item.rpartition("/")[2])
        if found is None:
            return False
        contract = clm.contracts.get(psa.projects[found[1].project_id].contract_ref)
        effective = contract.terms.effective_date if contract else None
        return effective is not None and found[1].date >= effective and (_off_by(m) or 2) > 1

    return oracle_findings(run, HOURLY_RULES, retro)


@check("C2C-BILL-004")
def milestones(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), ("net_charge",), lambda m: _kind(m) == "milestone")


@check("C2C-BILL-005")
def retainers(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), ("net_charge",), lambda m: _kind(m) == "retainer_period")


@check("C2C-BILL-006")
def adjustments(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    adjusted = _adjusted_sheets(run)
    return oracle_findings(run, ("net_charge",), lambda m: _kind(m) == "timesheet_line"
                           and (_off_by(m) or 0) > 1 and _sheet_of(run, m) in adjusted)


@check("C2C-BILL-007")
def rounding(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), ("net_charge", "capped_item"),
                           lambda m: _kind(m) in ("timesheet_line", "expense") and _off_by(m) == 1)


@check("C2C-BILL-008")
def master_data(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), (
        "customer_master_data", "duplicate_customer", "missing_customer", "billing_project",
        "duplicate_billing_project", "missing_billing_project", "invoice_tax"))


@check("C2C-TRACE-001")
def lineage(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), ("lineage", "orphan_charge"))


@check("C2C-TRACE-002")
def write_back(ctx: CheckContext) -> Evidence:
    return oracle_findings(ctx.observations.of(BILLING), ("billing_writeback",))
