"""BILL: the billing rules (README, "What the oracle checks"), read from the oracle on the fault-free billing scenarios.

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
from fractions import Fraction

from conformance.checks.evidence import INVOICING_RULES, Evidence, oracle_findings, unless_shown
from conformance.checks.registry import CheckContext, calm_day_defects, check
from conformance.findings import Finding
from conformance.observation import Observation
from conformance.ownership import defect_of
from simulator.oracle import Mismatch
from simulator.valuation import item_of, rate_on

BILLING = "billing.yaml"
AMENDMENTS = "amendments.yaml"
HOURLY_RULES = ("net_charge", "capped_item", "cap")
# posted documents that do not add up or are misnumbered: what reaches the customer, so the invoicing requirement's
# Charges dated so that a run takes them early (billing in advance) or, made in time, too late: no fault causes
# either, so a fault requirement claims them too where the billing scenario does not show them.
DATING_RULES = ("early_invoice", "misdated_charge")
DOCUMENT_RULES = ("invoice_total", "negative_invoice", "credit_note_total", "invoice_number", "gapless_numbering")


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


def _contract_of_line(observation: Observation, line_id: str) -> str | None:
    """The contract a timesheet line's work is for, from the firm's own book (never the PSA's reference)."""
    found = observation.result.systems.psa.lines.get(line_id)
    return observation.result.truth.contract_of(found[1].project_id) if found else None


def _charged_items(observation: Observation) -> dict[str, str]:
    """Source item -> the currency of the posted invoices that carry a positive charge for it."""
    erp = observation.result.systems.erp
    found: dict[str, str] = {}
    for invoice in erp.invoices.values():
        if invoice.status == "posted":
            for line in invoice.lines:
                item = item_of(line.get("lineage") or {})
                if item and line["amount"] > 0:
                    found[item] = invoice.currency
    return found


def _rate_steps_invoiced(observation: Observation) -> bool:
    """Approved lines invoiced on both sides of a rate card's effective-dated step, and an expense with markup."""
    systems, truth = observation.result.systems, observation.result.truth
    invoiced = _charged_items(observation)
    sides: dict[str, set[bool]] = {}
    for line_id, (_sheet, line) in systems.psa.lines.items():
        if f"psa:timesheet_line/{line_id}" not in invoiced:
            continue
        contract = systems.clm.contracts[truth.contract_of(line.project_id)]
        steps = sorted({e.effective_from for e in contract.terms.rate_card if e.role == line.role})
        if len(steps) > 1:
            sides.setdefault(f"{contract.id}/{line.role}/{steps[1]}", set()).add(line.date >= steps[1])
    marked_up = any(f"psa:expense/{e.id}" in invoiced and e.project_id in truth.project_contract
                    and Fraction(systems.clm.contracts[truth.contract_of(e.project_id)].terms.expense_markup_pct)
                    for e in systems.psa.expenses.values())
    return any(len(seen) == 2 for seen in sides.values()) and marked_up


def _half_way_items(observation: Observation) -> set[str]:
    """Currencies in which an invoiced item's exact value lay exactly half-way between two minor units."""
    systems, truth = observation.result.systems, observation.result.truth
    invoiced = _charged_items(observation)
    currencies: set[str] = set()
    for line_id, (_sheet, line) in systems.psa.lines.items():
        currency = invoiced.get(f"psa:timesheet_line/{line_id}")
        if currency is None:
            continue
        contract = systems.clm.contracts[truth.contract_of(line.project_id)]
        rate = rate_on(contract.terms.rate_card, line.role, line.date)
        if rate is not None and (Fraction(line.hours) * rate).denominator == 2:
            currencies.add(currency)
    return currencies


@check("C2C-BILL-001")
def caps(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    evidence = oracle_findings(run, ("cap", "capped_item", "release_order"))
    charges = run.result.systems.erp.charges.values()
    bound = any(c.status in ("held", "released") or c.created_held for c in charges) or bool(evidence.findings)
    return unless_shown(bound, "work held over a cap", "no cap ever bound in the run", evidence)


@check("C2C-BILL-002")
def rates(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    adjusted = _adjusted_sheets(run)
    evidence = oracle_findings(run, ("net_charge", "hours_and_rate"), lambda m: m.rule == "hours_and_rate" or (
        _kind(m) in ("timesheet_line", "expense") and (_off_by(m) or 0) > 1 and _sheet_of(run, m) not in adjusted))
    return unless_shown(_rate_steps_invoiced(run), "rates changing on an effective date, and expense markup",
                        "no invoiced work fell on both sides of a rate card's effective-dated step, or no expense "
                        "with a markup was invoiced", evidence)


def _retro_amendments(observation: Observation) -> dict[str, str]:
    """Contract id -> the earliest rate entry, among its signed amendments, that reaches back over work
    already invoiced when the amendment was signed (the case a retroactive amendment is about)."""
    systems = observation.result.systems
    erp = systems.erp
    invoiced_at: dict[str, str] = {}  # timesheet line -> when it was first on a posted invoice
    for invoice in erp.invoices.values():
        if invoice.status == "posted":
            for line in invoice.lines:
                lineage = line.get("lineage") or {}
                if lineage.get("source_type") == "timesheet_line" and line["amount"] > 0:
                    invoiced_at[lineage["source_id"]] = min(invoiced_at.get(lineage["source_id"], "9999"),
                                                            invoice.posted_at)
    retro: dict[str, str] = {}
    for amendment in systems.clm.amendments.values():
        if not amendment.signed_at or not amendment.rate_card:
            continue
        reach = min(entry.effective_from for entry in amendment.rate_card)
        reached_invoiced = any(
            posted < amendment.signed_at and _contract_of_line(observation, line_id) == amendment.contract_id
            and systems.psa.lines[line_id][1].date >= reach
            for line_id, posted in invoiced_at.items())
        if reached_invoiced:
            retro[amendment.contract_id] = min(retro.get(amendment.contract_id, "9999"), reach)
    return retro


@check("C2C-BILL-003")
def retro_amendments(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(AMENDMENTS)
    psa = run.result.systems.psa
    retro = _retro_amendments(run)

    def affected(m: Mismatch) -> bool:
        if m.rule == "cap":
            return m.item.rpartition("/")[2] in retro
        line_id = m.item.rpartition("/")[2]
        since = retro.get(_contract_of_line(run, line_id) or "")
        return since is not None and psa.lines[line_id][1].date >= since and (_off_by(m) or 2) > 1

    evidence = oracle_findings(run, HOURLY_RULES, affected)
    claimed = {id(m) for m in evidence.claimed}
    for mismatch in run.result.reconciliation.mismatches:  # the rest: whoever claims that defect, or this one
        if id(mismatch) in claimed or mismatch.rule in INVOICING_RULES:
            continue
        owners = calm_day_defects(ctx).get(defect_of(mismatch))
        if owners:
            evidence.owned_elsewhere.append((mismatch, owners))
        else:
            evidence.claimed.append(mismatch)
            evidence.findings.append(Finding.of(mismatch, also="not reached by a retroactive entry, and no other "
                                                              "requirement claims this defect"))
    return unless_shown(bool(retro), "retroactive rate amendments",
                        "no amendment's rate entry reached back over work already invoiced", evidence)


@check("C2C-BILL-004")
def milestones(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    approved = any(m.status == "approved" for m in run.result.systems.psa.milestones.values())
    return unless_shown(approved, "approved milestones", "no milestone was approved",
                        oracle_findings(run, ("net_charge", "missing_psa_milestone", "psa_milestone", "psa_milestone_date"),
                                        lambda m: _kind(m) == "milestone"))


@check("C2C-BILL-005")
def retainers(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    opened = set(run.result.systems.erp.periods_opened)
    last_period = any(c.billing_type == "retainer" and c.signed_at and c.terms.end_date[:7] in opened
                      for c in run.result.systems.clm.contracts.values())
    return unless_shown(last_period, "a retainer's last period", "no retainer's last period opened in the run",
                        oracle_findings(run, ("net_charge",), lambda m: _kind(m) == "retainer_period"))


@check("C2C-BILL-006")
def adjustments(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    adjusted = _adjusted_sheets(run)
    evidence = oracle_findings(run, ("net_charge", "capped_item"), lambda m: _kind(m) == "timesheet_line"
                               and (m.rule == "capped_item" or (_off_by(m) or 0) > 1) and _sheet_of(run, m) in adjusted)
    return unless_shown(bool(adjusted), "timesheets adjusted after approval", "no sheet was re-approved", evidence)


@check("C2C-BILL-007")
def rounding(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    evidence = oracle_findings(run, ("net_charge", "capped_item"),
                               lambda m: _kind(m) in ("timesheet_line", "expense") and _off_by(m) == 1)
    halves = _half_way_items(run)
    billed_in = set(_charged_items(run).values())
    return unless_shown({"EUR", "JPY"} <= billed_in and bool(halves), "EUR and JPY billed; amounts half-way",
                        f"work invoiced in EUR and JPY (invoiced in: {', '.join(sorted(billed_in)) or 'none'}) and "
                        f"worth exactly half a minor unit over a whole one (in: {', '.join(sorted(halves)) or 'none'})",
                        evidence)


@check("C2C-BILL-008")
def master_data(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    evidence = oracle_findings(run, ("customer_master_data", "duplicate_customer", "missing_customer",
                                     "billing_project", "duplicate_billing_project", "missing_billing_project",
                                     "invoice_tax", "missing_psa_project", "psa_project"))
    return unless_shown(bool(run.result.systems.crm.accounts), "CRM accounts", "the firm had no customer", evidence)


@check("C2C-BILL-009")
def timeliness(ctx: CheckContext) -> Evidence:
    run = ctx.observations.of(BILLING)
    systems = run.result.systems
    invoiced = _charged_items(run)
    late_approvals = sum(1 for line_id, (sheet, line) in systems.psa.lines.items()
                         if f"psa:timesheet_line/{line_id}" in invoiced and sheet.approved_at
                         and sheet.approved_at[:7] > line.date[:7])
    on_time = sum(1 for line_id, (sheet, line) in systems.psa.lines.items()
                  if f"psa:timesheet_line/{line_id}" in invoiced and sheet.approved_at
                  and sheet.approved_at[:7] == line.date[:7])
    return unless_shown(late_approvals > 0 and on_time > 0, "work approved within its month and after it",
                        f"invoiced lines approved within their work month: {on_time}, after it: {late_approvals}",
                        _with_late(oracle_findings(run, ("not_invoiced", *DATING_RULES, *DOCUMENT_RULES)), run))


def _with_late(evidence: Evidence, run: Observation) -> Evidence:
    """Add the work the oracle found invoiced on a later run than due (reported apart from end-state mismatches)."""
    late = run.result.reconciliation.late
    evidence.findings.extend(Finding.of(m) for m in late)
    if late:
        evidence.summary = (evidence.summary + "; " if evidence.summary else "") + f"{len(late)} item(s) invoiced late"
    return evidence
