"""BILL: the billing rules of DESIGN §6, read from the oracle on the fault-free billing scenarios.

The oracle names a rule and an item for every mismatch; these checks say
which requirement a mismatch breaks, so a vendor reads "milestone billed
twice", not "net_charge". The attribution, item by item:

- caps: the oracle's ``cap`` and ``capped_item`` rules (so on a capped
  contract any defect, a wrong rate included, shows as a cap failure);
- milestones and retainers: net charges on milestone and retainer-period items;
- rounding: a timesheet line or expense off by exactly one minor unit;
- adjustments: a line of a sheet approved more than once (adjusted after
  approval), off by more than one minor unit;
- rates: any other timesheet line or expense off by more than one minor unit;
- retro amendments: an hourly item dated on or after a retroactive
  amendment's effective date, or the cap of such a contract, in the
  all-retro scenario;
- master data: customers, billing projects and the tax on invoice lines.

Each check also confirms its case happened in the run (a cap that bound,
an approved milestone, an adjusted sheet...): a rule never exercised is
reported as not shown, never as passed.
"""

from __future__ import annotations

from collections import Counter

from conformance.checks.evidence import Evidence, oracle_findings, unless_shown
from conformance.checks.registry import CheckContext, check
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


def _approved_lines(observation: Observation) -> int:
    return sum(1 for sheet in observation.result.systems.psa.timesheets.values() if sheet.status == "approved"
               for line in sheet.lines if line.billable)


@check("C2C-BILL-001")
def caps(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    evidence = oracle_findings(run, ("cap", "capped_item"))
    charges = run.result.systems.erp.charges.values()
    bound = any(c.status in ("held", "released") or c.created_held for c in charges) or bool(evidence.findings)
    return unless_shown(bound, "work held over a cap", "no cap ever bound in the run", evidence)


@check("C2C-BILL-002")
def rates(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    adjusted = _adjusted_sheets(run)
    evidence = oracle_findings(run, ("net_charge",), lambda m: _kind(m) in ("timesheet_line", "expense")
                               and (_off_by(m) or 0) > 1 and _sheet_of(run, m) not in adjusted)
    return unless_shown(_approved_lines(run) > 0, "approved billable lines", "nobody's time was approved", evidence)


def _retro_amendments(observation: Observation) -> dict[str, str]:
    """Contract id -> the earliest effective date of a signed amendment that reached back before its signing."""
    retro: dict[str, str] = {}
    for amendment in observation.result.systems.clm.amendments.values():
        if amendment.signed_at and amendment.effective_date < amendment.signed_at[:10]:
            retro[amendment.contract_id] = min(retro.get(amendment.contract_id, "9999"), amendment.effective_date)
    return retro


@check("C2C-BILL-003")
def retro_amendments(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(AMENDMENTS)
    psa = run.result.systems.psa
    retro = _retro_amendments(run)

    def affected(m: Mismatch) -> bool:
        if m.rule == "cap":
            return m.item.rpartition("/")[2] in retro
        found = psa.lines.get(m.item.rpartition("/")[2])
        if found is None:
            return False
        since = retro.get(psa.projects[found[1].project_id].contract_ref)
        return since is not None and found[1].date >= since and (_off_by(m) or 2) > 1

    evidence = oracle_findings(run, HOURLY_RULES, affected)
    return unless_shown(bool(retro), "retroactive amendments", "no amendment reached back before its signing",
                        evidence)


@check("C2C-BILL-004")
def milestones(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    approved = any(m.status == "approved" for m in run.result.systems.psa.milestones.values())
    return unless_shown(approved, "approved milestones", "no milestone was approved",
                        oracle_findings(run, ("net_charge",), lambda m: _kind(m) == "milestone"))


@check("C2C-BILL-005")
def retainers(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    signed = any(c.billing_type == "retainer" and c.signed_at for c in run.result.systems.clm.contracts.values())
    return unless_shown(signed, "signed retainers", "no retainer was signed",
                        oracle_findings(run, ("net_charge",), lambda m: _kind(m) == "retainer_period"))


@check("C2C-BILL-006")
def adjustments(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    adjusted = _adjusted_sheets(run)
    evidence = oracle_findings(run, ("net_charge",), lambda m: _kind(m) == "timesheet_line"
                               and (_off_by(m) or 0) > 1 and _sheet_of(run, m) in adjusted)
    return unless_shown(bool(adjusted), "timesheets adjusted after approval", "no sheet was re-approved", evidence)


@check("C2C-BILL-007")
def rounding(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    evidence = oracle_findings(run, ("net_charge", "capped_item"),
                               lambda m: _kind(m) in ("timesheet_line", "expense") and _off_by(m) == 1)
    return unless_shown(_approved_lines(run) > 0, "approved billable lines", "nobody's time was approved", evidence)


@check("C2C-BILL-008")
def master_data(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    evidence = oracle_findings(run, ("customer_master_data", "duplicate_customer", "missing_customer",
                                     "billing_project", "duplicate_billing_project", "missing_billing_project",
                                     "invoice_tax"))
    return unless_shown(bool(run.result.systems.crm.accounts), "CRM accounts", "the firm had no customer", evidence)
