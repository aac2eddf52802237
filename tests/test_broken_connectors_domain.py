"""Domain mutants: seven billing-rule defects that the oracle must name, item by item.

Each mutant in :mod:`tests.broken_connectors` listed below plants one
realistic defect in the reference connector: caps ignored, rates looked up
on the approval date, milestones billed twice, a retainer period missed,
retroactive amendments ignored, timesheet adjustments dropped, banker's
rounding. For each, one simulation (module-scoped) runs a scenario in which
the defect really happens, and the test predicts, with its own arithmetic
(sharing no code with the oracle or any connector), exactly which source
items the defect hurts and the expected and actual values the oracle must
report for them. The reference connector on the same scenario and seed is
the control: it must reconcile cleanly. The controls run in the fast suite;
each mutant's run is in the slow suite (CI runs it).

On a capped contract the oracle checks each item only for
``0 <= billed <= expected`` and ``billed + held = expected`` (which items end
up held depends on arrival order), so there the prediction is the item's
``billed + held`` and, per contract, that any ``cap`` mismatch sits on a
contract the defect touched.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from simulator.oracle import Mismatch
from simulator.run import SimulationResult, simulate
from simulator.scenario import load_scenario
from tests.broken_connectors import (
    drops_adjustment,
    ignores_cap,
    ignores_retro_amendment,
    milestone_twice,
    misses_retainer_period,
    rates_by_approval_date,
    rounds_half_even,
    stale_approval,
)

HERE = Path(__file__).resolve().parent
BASELINE_SEED = 1
RETRO_SEED = 3  # tests/scenarios/amendments.yaml: three rate amendments that reach weeks into the past
HOURLY = ("time_and_materials", "capped_tm")

# mutant -> (module, scenario fixture, seed, the only reconciliation rules its defect may trip)
MUTANTS: dict[str, tuple[ModuleType, str, int, frozenset[str]]] = {
    "ignores_cap": (ignores_cap, "baseline", BASELINE_SEED, frozenset({"cap"})),
    "rates_by_approval_date": (rates_by_approval_date, "baseline", BASELINE_SEED,
                               frozenset({"net_charge", "capped_item", "cap"})),
    # its completion charge: no approval in its lineage, dated by the completion
    "milestone_twice": (milestone_twice, "baseline", BASELINE_SEED, frozenset({"net_charge", "lineage", "misdated_charge"})),
    "misses_retainer_period": (misses_retainer_period, "baseline", BASELINE_SEED, frozenset({"net_charge"})),
    "ignores_retro_amendment": (ignores_retro_amendment, "retro_scenario", RETRO_SEED, frozenset({"net_charge"})),
    "drops_adjustment": (drops_adjustment, "baseline", BASELINE_SEED, frozenset({"net_charge", "capped_item", "cap"})),
    # one unit at its own rounded amount (no hours, no rate: the ERP would refuse hours × rate rounded half-even)
    "rounds_half_even": (rounds_half_even, "baseline", BASELINE_SEED,
                         frozenset({"net_charge", "capped_item", "cap", "hours_and_rate"})),
    "stale_approval": (stale_approval, "baseline", BASELINE_SEED, frozenset({"lineage"})),
}
CONTROLS = {("baseline", BASELINE_SEED): "reference_baseline", ("retro_scenario", RETRO_SEED): "reference_retro"}


@pytest.fixture(scope="module")
def retro_scenario():
    return load_scenario(HERE / "scenarios" / "amendments.yaml")


def _run(scenario, seed: int, module: ModuleType | None) -> SimulationResult:
    return simulate(scenario, seed=seed, factory=None if module is None else module.build)


@pytest.fixture(scope="module")
def reference_baseline(baseline) -> SimulationResult:
    return _run(baseline, BASELINE_SEED, None)


@pytest.fixture(scope="module")
def reference_retro(retro_scenario) -> SimulationResult:
    return _run(retro_scenario, RETRO_SEED, None)


def _mutant_fixture(name: str):
    module, scenario_fixture, seed, _ = MUTANTS[name]

    @pytest.fixture(scope="module", name=f"{name}_result")
    def fixture(request: pytest.FixtureRequest) -> SimulationResult:
        return _run(request.getfixturevalue(scenario_fixture), seed, module)

    return fixture


ignores_cap_result = _mutant_fixture("ignores_cap")
rates_by_approval_date_result = _mutant_fixture("rates_by_approval_date")
milestone_twice_result = _mutant_fixture("milestone_twice")
misses_retainer_period_result = _mutant_fixture("misses_retainer_period")
ignores_retro_amendment_result = _mutant_fixture("ignores_retro_amendment")
drops_adjustment_result = _mutant_fixture("drops_adjustment")
rounds_half_even_result = _mutant_fixture("rounds_half_even")
stale_approval_result = _mutant_fixture("stale_approval")


# -- the tests' own arithmetic: integers and fractions, nothing shared ----------------------------------


def _split(value: Fraction) -> tuple[int, Fraction]:
    assert value >= 0, value
    whole = value.numerator // value.denominator
    return whole, value - whole


def half_up(value: Fraction) -> int:
    whole, rest = _split(value)
    return whole + (rest >= Fraction(1, 2))


def half_even(value: Fraction) -> int:
    whole, rest = _split(value)
    return whole + (rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2 == 1))


def labour(hours: Decimal, rate: int) -> Fraction:
    """The exact (unrounded) value of a line, in minor units."""
    return Fraction(hours) * rate


def rate_on(rate_card, role: str, day: str) -> int:
    """The role's rate from the entry with the latest effective date on or before ``day``."""
    eligible = [e for e in rate_card if e.role == role and e.effective_from <= day]
    assert eligible, f"no {role} rate on {day}"
    return max(eligible, key=lambda e: e.effective_from).rate


def line_value(rate_card, line, day: str | None = None) -> int:
    return half_up(labour(line.hours, rate_on(rate_card, line.role, day or line.date)))


def expense_value(expense, markup_pct: str) -> int:
    return half_up(Fraction(expense.cost) * (1 + Fraction(markup_pct) / 100))


def line_item(line_id: str) -> str:
    return f"psa:timesheet_line/{line_id}"


def contract_of(result: SimulationResult, project_id: str):
    return result.systems.clm.contracts[result.systems.psa.projects[project_id].contract_ref]


def terms_in_force(result: SimulationResult, contract, moment: str):
    """The contract version in force at ``moment`` (an ISO timestamp): v1 plus every amendment signed by then."""
    signed = [a for a in result.systems.clm.amendments.values()
              if a.contract_id == contract.id and a.status == "signed" and a.signed_at <= moment]
    return contract.terms_at(1 + len(signed))


def billable_lines(result: SimulationResult):
    """(timesheet, line, contract) for each billable line of an approved sheet on an hourly contract."""
    for timesheet in result.systems.psa.timesheets.values():
        if timesheet.status != "approved":
            continue
        for line in timesheet.lines:
            contract = contract_of(result, line.project_id)
            if line.billable and contract.billing_type in HOURLY:
                yield timesheet, line, contract


def approvals_of(result: SimulationResult, entity_id: str) -> list[dict[str, Any]]:
    return [a for a in result.systems.psa.approvals if a["entity_id"] == entity_id]


def describe(mismatches) -> str:
    return "\n".join(str(m) for m in list(mismatches)[:12])


def by_rule(result: SimulationResult, *rules: str) -> dict[str, Mismatch]:
    return {m.item: m for m in result.reconciliation.mismatches if m.rule in rules}


def assert_lines_misvalued(result: SimulationResult, implied: dict[str, tuple[int, int]]) -> None:
    """Exactly the lines in ``implied`` (item -> (right value, the mutant's value)) are reported, with those values.

    A plain T&M line is a ``net_charge`` mismatch with the two values; a line
    on a capped contract is a ``capped_item`` mismatch whose ``billed + held``
    is the mutant's value. ``cap`` mismatches may follow, on capped contracts
    with a hurt line only.
    """
    psa = result.systems.psa
    lines = by_rule(result, "net_charge", "capped_item")
    assert set(lines) == set(implied), (
        f"missing: {sorted(set(implied) - set(lines))[:5]}, unexpected: {sorted(set(lines) - set(implied))[:5]}\n"
        + describe(result.reconciliation.mismatches))
    hurt_capped = set()
    for item, (right, wrong) in implied.items():
        assert right != wrong, item
        m = lines[item]
        _, line = psa.lines[item.rsplit("/", 1)[1]]
        contract = contract_of(result, line.project_id)
        assert m.currency == contract.currency, str(m)
        if contract.billing_type == "time_and_materials":
            assert (m.rule, m.expected, m.actual) == ("net_charge", right, wrong), str(m)
        else:
            hurt_capped.add(f"clm:contract/{contract.id}")
            assert m.rule == "capped_item" and m.expected == right, str(m)
            assert m.actual["billed"] + m.actual["held"] == wrong and 0 <= m.actual["billed"] <= wrong, str(m)
    for m in result.reconciliation.mismatches:
        if m.rule == "cap":
            assert m.item in hurt_capped, str(m)


def tm_money(implied: dict[str, tuple[int, int]], result: SimulationResult) -> dict[str, Counter]:
    """Leakage and over-billing per currency implied on plain T&M lines."""
    out = {"leakage": Counter(), "over_billing": Counter()}
    for item, (right, wrong) in implied.items():
        contract = contract_of(result, result.systems.psa.lines[item.rsplit("/", 1)[1]][1].project_id)
        if contract.billing_type == "time_and_materials":
            out["leakage" if wrong < right else "over_billing"][contract.currency] += abs(right - wrong)
    return out


def assert_kpi_covers(result: SimulationResult, kpi: str, implied: Counter) -> None:
    reported = getattr(result.reconciliation, kpi)
    for currency, amount in implied.items():
        assert reported.get(currency, 0) >= amount, (kpi, currency, dict(reported), dict(implied))


# -- the controls ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("control", sorted(CONTROLS.values()))
def test_reference_connector_reconciles_on_each_scenario_and_seed(control: str, request: pytest.FixtureRequest) -> None:
    result: SimulationResult = request.getfixturevalue(control)
    recon = result.reconciliation
    assert recon.mismatches == [], describe(recon.mismatches)
    assert recon.approved_billable_lines > 0
    assert result.connector_errors == []


# -- every mutant is caught, silently broken, documented ----------------------------------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_fails_reconciliation_only_on_its_own_rules(mutant: str, request: pytest.FixtureRequest) -> None:
    _, scenario_fixture, seed, rules = MUTANTS[mutant]
    result: SimulationResult = request.getfixturevalue(f"{mutant}_result")
    recon = result.reconciliation
    assert not recon.ok, f"the oracle passed the {mutant} connector on {scenario_fixture} seed {seed}"
    assert result.kpis["reconciliation"]["mismatches"] == len(recon.mismatches)
    assert {m.rule for m in recon.mismatches} <= rules, describe(recon.mismatches)
    assert result.connector_errors == [], "the defects fail silently, as the real bugs do"
    assert result.kpis["webhooks"].get("failed", 0) == 0
    control: SimulationResult = request.getfixturevalue(CONTROLS[(scenario_fixture, seed)])
    assert control.reconciliation.ok, "the control run on the same scenario and seed must be clean"


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_documents_its_defect_and_has_a_factory(mutant: str) -> None:
    module = MUTANTS[mutant][0]
    assert module.__doc__ and len(module.__doc__.split()) > 40, f"{mutant} must describe its defect"
    assert callable(module.build)


# -- 1. ignores caps: each capped contract over its cap is billed its full value ---------------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_ignores_cap_bills_capped_contracts_beyond_their_cap(ignores_cap_result: SimulationResult) -> None:
    result = ignores_cap_result
    psa, clm = result.systems.psa, result.systems.clm
    value: Counter = Counter()
    for _, line, contract in billable_lines(result):
        if contract.billing_type == "capped_tm":
            value[contract.id] += line_value(contract.terms.rate_card, line)
    for expense in psa.expenses.values():
        contract = contract_of(result, expense.project_id)
        if contract.billing_type == "capped_tm" and expense.status == "approved" and expense.billable:
            value[contract.id] += expense_value(expense, contract.terms.expense_markup_pct)
    capped = [c for c in clm.contracts.values() if c.billing_type == "capped_tm" and c.status == "signed"]
    over = {f"clm:contract/{c.id}": (c.terms.cap, value[c.id], c.currency) for c in capped if value[c.id] > c.terms.cap}
    assert over, f"baseline seed {BASELINE_SEED} should have a capped contract whose approved work exceeds its cap"
    assert len(over) < len(capped), "and one within its cap, which the defect must leave alone"
    mismatches = by_rule(result, "cap")
    assert set(mismatches) == set(over) and len(mismatches) == len(result.reconciliation.mismatches), \
        describe(result.reconciliation.mismatches)
    over_billing: Counter = Counter()
    for item, (cap, billed, currency) in over.items():
        m = mismatches[item]
        assert (m.expected, m.actual, m.currency) == (cap, billed, currency), str(m)
        over_billing[currency] += billed - cap
    assert dict(result.reconciliation.over_billing) == dict(over_billing)
    assert not result.reconciliation.leakage
    assert not [c for c in result.systems.erp.charges.values() if c.status == "held"], "nothing is ever held"
    assert result.kpis["invoices"]["disputed"] > 0, "customers dispute invoices that take a contract past its cap"

# -- 2. rates by approval date: lines approved across a rate change are priced at the later rate -----------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_rates_by_approval_date_misprices_lines_approved_across_a_rate_change(
        rates_by_approval_date_result: SimulationResult) -> None:
    result = rates_by_approval_date_result
    implied: dict[str, tuple[int, int]] = {}
    for timesheet, line, contract in billable_lines(result):
        card = contract.terms.rate_card
        approved_on = timesheet.approved_at[:10]
        assert approved_on >= line.date
        right, wrong = line_value(card, line), line_value(card, line, approved_on)
        if right != wrong:
            implied[line_item(line.id)] = (right, wrong)
    tm = tm_money(implied, result)
    assert sum(tm["leakage"].values()) + sum(tm["over_billing"].values()) > 0, \
        f"baseline seed {BASELINE_SEED} should have T&M work approved after a rate change that followed it"
    assert_lines_misvalued(result, implied)
    assert_kpi_covers(result, "over_billing", tm["over_billing"])
    assert_kpi_covers(result, "leakage", tm["leakage"])


# -- 3. milestone twice: charged at completion (no approval id) and again at approval ----------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_milestone_twice_charges_each_completed_milestone_twice(milestone_twice_result: SimulationResult) -> None:
    result = milestone_twice_result
    implied: dict[str, tuple[int, int]] = {}
    for milestone in result.systems.psa.milestones.values():
        if milestone.status == "planned":
            continue
        contract = contract_of(result, milestone.project_id)
        at_completion = next(m.amount for m in terms_in_force(result, contract, milestone.completed_at).milestones
                             if m.ref == milestone.ref)
        final = next(m.amount for m in contract.terms.milestones if m.ref == milestone.ref)
        final = final if milestone.status == "approved" else 0
        implied[f"psa:milestone/{milestone.id}"] = (final, at_completion + final)
    assert any(right for right, _ in implied.values()), f"baseline seed {BASELINE_SEED} has approved milestones"
    net = by_rule(result, "net_charge")
    assert set(net) == set(implied), describe(result.reconciliation.mismatches)
    for item, (right, wrong) in implied.items():
        assert (net[item].expected, net[item].actual) == (right, wrong), str(net[item])
    # The completion charge is a real, separate ERP charge, citing no approval: the oracle names it too.
    completion_charges = {f"erp:charge/{c.id}": f"psa:milestone/{c.lineage['source_id']}"
                          for c in result.systems.erp.charges.values()
                          if c.lineage.get("source_type") == "milestone" and c.lineage.get("approval_id") is None}
    assert sorted(completion_charges.values()) == sorted(implied), "one completion charge per completed milestone"
    lineage = by_rule(result, "lineage")
    assert set(lineage) == set(completion_charges), describe(lineage.values())
    for charge, item in completion_charges.items():
        assert "missing approval_id" in lineage[charge].actual and lineage[charge].detail == f"for {item}"


# -- 4. misses a retainer period: the last month of each term is never billed -------------------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_misses_retainer_period_leaves_each_terms_last_month_unbilled(
        misses_retainer_period_result: SimulationResult) -> None:
    result = misses_retainer_period_result
    opened = result.systems.erp.periods_opened
    implied: dict[str, tuple[int, str]] = {}
    billed_months = 0
    for contract in result.systems.clm.contracts.values():
        if contract.billing_type != "retainer" or contract.status != "signed":
            continue
        first, last = contract.terms.start_date[:7], contract.terms.end_date[:7]
        billed_months += sum(1 for p in opened if first <= p < last)
        if last in opened:
            implied[f"clm:retainer_period/{contract.id}/{last}"] = (contract.terms.retainer_fee, contract.currency)
    assert implied, f"baseline seed {BASELINE_SEED} has a retainer whose last month opens in the run"
    assert billed_months, "and retainer months before the last, which the defect must still bill"
    net = by_rule(result, "net_charge")
    assert set(net) == set(implied), describe(result.reconciliation.mismatches)
    leakage: Counter = Counter()
    for item, (fee, currency) in implied.items():
        assert (net[item].expected, net[item].actual, net[item].currency) == (fee, 0, currency), str(net[item])
        leakage[currency] += fee
    assert dict(result.reconciliation.leakage) == dict(leakage)


# -- 5. ignores retroactive amendments: work charged before signing keeps the old rate ----------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_ignores_retro_amendment_keeps_old_rates_on_work_before_the_amendment(
        ignores_retro_amendment_result: SimulationResult) -> None:
    result = ignores_retro_amendment_result
    amendments = sorted((a for a in result.systems.clm.amendments.values() if a.status == "signed"),
                        key=lambda a: a.signed_at)
    retro = [a for a in amendments if any(e.effective_from < a.effective_date for e in a.rate_card)]
    assert retro, f"tests/scenarios/amendments.yaml seed {RETRO_SEED} has retroactive rate amendments"
    implied: dict[str, tuple[int, int]] = {}
    for timesheet, line, contract in billable_lines(result):
        # Charged at its (final) approval under the card then in force; each later amendment re-prices it
        # under the new card only when the line is dated on or after the amendment's header date.
        terms = terms_in_force(result, contract, timesheet.approved_at)
        for a in amendments:
            if a.contract_id == contract.id and a.signed_at > timesheet.approved_at and line.date >= a.effective_date:
                terms = contract.terms_at(a.creates_version)
        right, wrong = line_value(contract.terms.rate_card, line), line_value(terms.rate_card, line)
        if right != wrong:
            implied[line_item(line.id)] = (right, wrong)
    assert implied
    for item in implied:  # the hurt lines are exactly retro work: after a retro entry, before the header date
        line = result.systems.psa.lines[item.rsplit("/", 1)[1]][1]
        assert any(a.contract_id == contract_of(result, line.project_id).id
                   and min(e.effective_from for e in a.rate_card) <= line.date < a.effective_date for a in retro), item
    assert_lines_misvalued(result, implied)
    tm = tm_money(implied, result)
    assert_kpi_covers(result, "leakage", tm["leakage"])  # the scenario's amendments raise rates
    assert not tm["over_billing"]


# -- 6. drops adjustments: the re-approval of an adjusted sheet is ignored, its lines end unbilled ----------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_drops_adjustment_leaves_reapproved_lines_unbilled(drops_adjustment_result: SimulationResult) -> None:
    result = drops_adjustment_result
    implied: dict[str, tuple[int, int]] = {}
    readjusted = set()
    for timesheet, line, contract in billable_lines(result):
        if len(approvals_of(result, timesheet.id)) > 1:  # approved, adjusted, approved again
            readjusted.add(timesheet.id)
            implied[line_item(line.id)] = (line_value(contract.terms.rate_card, line), 0)
    assert implied, f"baseline seed {BASELINE_SEED} has billable timesheets adjusted and approved again"
    assert_lines_misvalued(result, implied)
    for m in by_rule(result, "capped_item").values():  # not even held: the adjustment reversed every charge
        assert m.actual == {"billed": 0, "held": 0}, str(m)
    assert not result.reconciliation.over_billing
    assert_kpi_covers(result, "leakage", tm_money(implied, result)["leakage"])
    # Each dropped sheet was charged once and fully reversed: net zero, with both legs citing the first approval.
    for timesheet_id in readjusted:
        first = approvals_of(result, timesheet_id)[0]["approval_id"]
        cited = {c.lineage.get("approval_id") for c in result.systems.erp.charges.values()
                 if c.lineage.get("timesheet_id") == timesheet_id}
        assert cited == {first}, (timesheet_id, cited)


# -- 7. rounds half-even: every tie with an even whole part is one minor unit short --------------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_rounds_half_even_bills_ties_one_minor_unit_short(rounds_half_even_result: SimulationResult) -> None:
    result = rounds_half_even_result
    implied: dict[str, tuple[int, int]] = {}
    ties = Counter()
    for _, line, contract in billable_lines(result):
        exact = labour(line.hours, rate_on(contract.terms.rate_card, line.role, line.date))
        whole, rest = _split(exact)
        if rest == Fraction(1, 2):
            ties["even" if whole % 2 == 0 else "odd"] += 1
        if half_up(exact) != half_even(exact):
            implied[line_item(line.id)] = (half_up(exact), half_even(exact))
    assert ties["even"] and ties["odd"], f"baseline seed {BASELINE_SEED} has ties on both sides: {dict(ties)}"
    assert len(implied) == ties["even"], "half-even and half-up differ exactly on ties with an even whole part"
    for right, wrong in implied.values():
        assert right - wrong == 1
    assert_lines_misvalued(result, implied)
    for m in by_rule(result, "net_charge").values():
        assert m.expected - m.actual == 1, f"exactly one minor unit: {m}"
    assert not result.reconciliation.over_billing
    assert_kpi_covers(result, "leakage", tm_money(implied, result)["leakage"])



# -- 8. stale approval: amounts right, but re-approved lines cite the superseded approval -------------------


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_stale_approval_is_caught_on_every_open_charge_of_a_reapproved_sheet(
        stale_approval_result: SimulationResult) -> None:
    result = stale_approval_result
    erp = result.systems.erp
    reversed_ids = {c.reversal_of for c in erp.charges.values() if c.reversal_of}
    expected_charges = set()
    for timesheet, line, _ in billable_lines(result):
        approvals = approvals_of(result, timesheet.id)
        if len(approvals) < 2:
            continue
        for charge in erp.charges.values():
            if (charge.lineage.get("source_id") == line.id and not charge.reversal_of
                    and charge.id not in reversed_ids and charge.status != "released"):
                assert charge.lineage["approval_id"] == approvals[0]["approval_id"]  # the defect, as planted
                expected_charges.add(f"erp:charge/{charge.id}")
    assert expected_charges, f"baseline seed {BASELINE_SEED} has billable timesheets adjusted and approved again"
    flagged = {m.item for m in result.reconciliation.mismatches if m.rule == "lineage"}
    assert expected_charges <= flagged
    assert not result.reconciliation.leakage and not result.reconciliation.over_billing  # only the audit trail is wrong
