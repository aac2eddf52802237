"""Mutant connectors: each plants one realistic billing defect; the oracle must name every item it hurts.

A harness whose oracle passes a broken connector certifies nothing. For each
mutant in :mod:`tests.broken_connectors` these tests run the baseline
scenario once (module-scoped) and check that reconciliation fails with
``net_charge`` mismatches on exactly the timesheet lines the defect touches,
with the expected and actual amounts the defect implies. The reference
connector on the same seed is the control: it must reconcile cleanly. The
control runs in the fast suite; each mutant's run is in the slow suite (CI
runs it).

The exact per-line predictions are made for plain time-and-materials
contracts (on a capped contract the oracle accepts anything up to the cap
per item, so a defect's effect there depends on arrival order).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from types import ModuleType

import pytest

from simulator.courier import LATENCY_S
from simulator.oracle import Mismatch
from simulator.run import SimulationResult, simulate
from tests.broken_connectors import double_post, drops_approvals, wrong_rate

SEED = 1
LINE_ITEM = re.compile(r"^psa:timesheet_line/tsl_\d+$")
MUTANTS = {"wrong_rate": wrong_rate, "double_post": double_post, "drops_approvals": drops_approvals}


def _run(scenario, module: ModuleType | None) -> SimulationResult:
    return simulate(scenario, seed=SEED, factory=None if module is None else module.build)


@pytest.fixture(scope="module")
def reference_result(baseline, simulation) -> SimulationResult:
    return simulation(baseline, SEED)


@pytest.fixture(scope="module")
def wrong_rate_result(baseline) -> SimulationResult:
    return _run(baseline, wrong_rate)


@pytest.fixture(scope="module")
def double_post_result(baseline) -> SimulationResult:
    return _run(baseline, double_post)


@pytest.fixture(scope="module")
def drops_approvals_result(baseline) -> SimulationResult:
    return _run(baseline, drops_approvals)


# The tests' own arithmetic for the billing rules, shared with neither the oracle nor any connector.


def line_item(line_id: str) -> str:
    return f"psa:timesheet_line/{line_id}"


def rate_on(rate_card, role: str, work_date: str) -> int:
    """The rate of the role's entry with the latest effective date on or before the work date."""
    eligible = [e for e in rate_card if e.role == role and e.effective_from <= work_date]
    return max(eligible, key=lambda e: e.effective_from).rate


def labour_amount(hours: Decimal, rate: int) -> int:
    return int((Decimal(hours) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def net_charge_mismatches(result: SimulationResult) -> dict[str, Mismatch]:
    return {m.item: m for m in result.reconciliation.mismatches if m.rule == "net_charge"}


def tm_approved_billable_lines(result: SimulationResult) -> Iterator:
    """(timesheet, line, contract) for each billable line of an approved sheet on a plain T&M contract."""
    psa, clm = result.systems.psa, result.systems.clm
    for timesheet in psa.timesheets.values():
        if timesheet.status != "approved":
            continue
        for line in timesheet.lines:
            contract = clm.contracts[psa.projects[line.project_id].contract_ref]
            if line.billable and contract.billing_type == "time_and_materials":
                yield timesheet, line, contract


def on_tm_lines(result: SimulationResult, mismatches: dict[str, Mismatch]) -> dict[str, Mismatch]:
    tm = {line_item(line.id) for _, line, _ in tm_approved_billable_lines(result)}
    return {item: m for item, m in mismatches.items() if item in tm}


def by_currency(mismatches: Iterable[Mismatch]) -> dict[str, int]:
    """Money at stake per currency, as the leakage and over-billing KPIs should report it."""
    totals: Counter = Counter()
    for m in mismatches:
        totals[m.currency] += m.money_at_stake
    return dict(totals)


def assert_money_at_stake(recon, kpi: str, tm_mismatches: Iterable[Mismatch]) -> None:
    """The KPI covers the T&M lines' money at stake; it equals it when nothing else was mis-billed.

    Capped contracts add their own ``cap``/``capped_item`` mismatches (the
    same defect, seen through the cap), so there the KPI can only be larger.
    """
    reported, implied = dict(getattr(recon, kpi)), by_currency(tm_mismatches)
    for currency, amount in implied.items():
        assert reported.get(currency, 0) >= amount, (kpi, currency)
    if all(m.rule == "net_charge" and m.item in {x.item for x in tm_mismatches} for m in recon.mismatches):
        assert reported == implied, kpi


def describe(mismatches) -> str:
    return "\n".join(str(m) for m in list(mismatches)[:10])


# -- the control ------------------------------------------------------------------


def test_reference_connector_reconciles_on_the_same_seed(reference_result: SimulationResult) -> None:
    recon = reference_result.reconciliation
    assert recon.mismatches == [], describe(recon.mismatches)
    assert recon.approved_billable_lines > 0
    assert reference_result.connector_errors == []


# -- every mutant is caught, per item ------------------------------------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_fails_reconciliation_naming_source_items(mutant: str, request: pytest.FixtureRequest) -> None:
    result: SimulationResult = request.getfixturevalue(f"{mutant}_result")
    recon = result.reconciliation
    assert not recon.ok, f"the oracle passed the {mutant} connector"
    assert result.kpis["reconciliation"]["mismatches"] == len(recon.mismatches) > 0
    net = net_charge_mismatches(result)
    assert net, f"no net_charge mismatch for {mutant}:\n{describe(recon.mismatches)}"
    for m in net.values():
        assert LINE_ITEM.match(m.item), f"the defect touches timesheet lines only, yet: {m}"
        assert m.currency and re.fullmatch(r"[A-Z]{3}", m.currency), str(m)
        assert isinstance(m.expected, int) and isinstance(m.actual, int), str(m)
    # The defect is in pricing/posting only: invoices, tax, numbering and master data stay right. The double
    # poster's extra charges are unknown to its ledger, so when a sheet is adjusted they stay open citing the
    # superseded approval: the same defect, seen again through lineage.
    allowed = {"net_charge", "capped_item", "cap"} | ({"lineage"} if mutant == "double_post" else set())
    assert {m.rule for m in recon.mismatches} <= allowed, describe(recon.mismatches)
    assert result.connector_errors == [], "the mutants fail silently, as the real bugs do"


def test_each_mutant_documents_its_defect_and_has_a_factory() -> None:
    for name, module in MUTANTS.items():
        assert module.__doc__ and len(module.__doc__.split()) > 40, f"{name} must describe its defect"
        assert callable(module.build)


# -- wrong rate: lines after a rate increase are billed at the contract-start rate -------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_wrong_rate_bills_lines_after_a_rate_increase_at_the_start_rate(wrong_rate_result: SimulationResult) -> None:
    mismatches = on_tm_lines(wrong_rate_result, net_charge_mismatches(wrong_rate_result))
    implied: dict[str, tuple[int, int]] = {}
    for _, line, contract in tm_approved_billable_lines(wrong_rate_result):
        card = contract.terms.rate_card
        first_rate = next(e.rate for e in card if e.role == line.role)  # the defect: the role's first entry
        right = labour_amount(line.hours, rate_on(card, line.role, line.date))
        wrong = labour_amount(line.hours, first_rate)
        if right != wrong:
            implied[line_item(line.id)] = (right, wrong)
    assert implied, "baseline seed 1 should contain T&M work after a mid-term rate increase"
    assert set(mismatches) == set(implied), "mismatches must be exactly the lines worked after a rate change"
    for item, (right, wrong) in implied.items():
        m = mismatches[item]
        assert (m.expected, m.actual) == (right, wrong), str(m)
        assert m.actual != m.expected and m.expected > 0 and m.actual > 0, str(m)
    recon = wrong_rate_result.reconciliation
    assert_money_at_stake(recon, "leakage", [m for m in mismatches.values() if m.expected > m.actual])


# -- double post: every Monday line is charged twice ---------------------------------------------


def approved_once(result: SimulationResult) -> set[str]:
    """Sheets approved exactly once: on an adjusted sheet each approval adds another straggler copy."""
    approvals = Counter(a["entity_id"] for a in result.systems.psa.approvals if a["kind"] == "timesheet")
    return {sheet for sheet, n in approvals.items() if n == 1}


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_double_post_charges_monday_lines_twice(double_post_result: SimulationResult) -> None:
    mismatches = on_tm_lines(double_post_result, net_charge_mismatches(double_post_result))
    once = approved_once(double_post_result)
    mondays = {line_item(line.id): timesheet.id in once
               for timesheet, line, _ in tm_approved_billable_lines(double_post_result)
               if dt.date.fromisoformat(line.date).weekday() == 0}
    assert mondays, "baseline seed 1 has Monday work"
    assert set(mismatches) == set(mondays)
    for item, m in mismatches.items():
        assert m.expected > 0, str(m)
        if mondays[item]:
            assert m.actual == 2 * m.expected, str(m)
        else:  # re-approved: one straggler copy per approval, each at that version's hours
            assert m.actual > m.expected, str(m)
    recon = double_post_result.reconciliation
    assert not recon.leakage
    assert_money_at_stake(recon, "over_billing", list(mismatches.values()))
    # The customers notice: invoices carrying a line billed twice are disputed (the reference run has none).
    assert double_post_result.kpis["invoices"]["disputed"] > 0


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_double_post_books_two_real_charges_per_monday_line(double_post_result: SimulationResult) -> None:
    """Both copies are distinct ERP charges citing the same source line, version and approval."""
    charges_by_item: dict[str, list] = {}
    for charge in double_post_result.systems.erp.charges.values():
        if charge.lineage.get("source_type") == "timesheet_line" and charge.reversal_of is None:
            charges_by_item.setdefault(line_item(charge.lineage["source_id"]), []).append(charge)
    once = approved_once(double_post_result)
    doubled = {item for item in on_tm_lines(double_post_result, net_charge_mismatches(double_post_result))
               if double_post_result.systems.psa.lines[item.split("/", 1)[1]][0].id in once}
    assert doubled
    for item in doubled:
        pair = charges_by_item[item]
        assert len(pair) == 2 and pair[0].id != pair[1].id, item
        assert pair[0].amount == pair[1].amount, item
        for key in ("source_id", "source_version", "approval_id", "contract_id"):
            assert pair[0].lineage[key] == pair[1].lineage[key], (item, key)


# -- dropped approvals: sheets approved during the month-end freeze are never charged --------------


def _approved_at(timesheet) -> float:
    return dt.datetime.fromisoformat(timesheet.approved_at.replace("Z", "+00:00")).timestamp()


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_drops_approvals_leaves_sheets_approved_in_the_freeze_uncharged(
        drops_approvals_result: SimulationResult, reference_result: SimulationResult) -> None:
    mismatches = on_tm_lines(drops_approvals_result, net_charge_mismatches(drops_approvals_result))
    freeze = drops_approvals.in_close_freeze
    slack = 60.0  # the webhook arrives LATENCY_S after the approval; stay clear of the window's edges
    assert slack > LATENCY_S
    surely_dropped, maybe_dropped = set(), set()
    for timesheet, line, _ in tm_approved_billable_lines(drops_approvals_result):
        at = _approved_at(timesheet)  # the final approval: the one whose webhook decides
        if freeze(at) and freeze(at + slack):
            surely_dropped.add(line_item(line.id))
        if freeze(at - slack) or freeze(at + slack):
            maybe_dropped.add(line_item(line.id))
    assert surely_dropped, "baseline seed 1 has approvals during a month-end freeze"
    assert surely_dropped <= set(mismatches) <= maybe_dropped
    for m in mismatches.values():
        assert m.actual == 0 and m.expected > 0, str(m)
    recon = drops_approvals_result.reconciliation
    assert not recon.over_billing
    assert_money_at_stake(recon, "leakage", list(mismatches.values()))
    # Acknowledged, not failed: the PSA saw success, retried nothing more than for the reference connector.
    hooks, control = drops_approvals_result.kpis["webhooks"], reference_result.kpis["webhooks"]
    assert hooks.get("failed", 0) == control.get("failed", 0) == 0
    assert hooks.get("retries", 0) == control.get("retries", 0)
