"""The oracle's two rules on charge dates, on hand-made books (fast; the suite-level proof, with connectors that
date charges wrong, is tests/conformance/test_escaped_defects.py):

- ``early_invoice``: no posted document of a period before an item's own carries it (billing in advance); a
  milestone the client accepted ahead of plan may be billed from its acceptance's period;
- ``misdated_charge``: a charge is dated so that the first run whose cut-off follows its making takes it (from the
  item's due run on); and a timesheet line's or an expense's charge made in time for its due run is dated on the
  item's own day (not the day it was approved, or its month's end).
"""

from __future__ import annotations

from types import SimpleNamespace

from simulator.oracle import ItemBooks, Reconciliation, _check_billed_in_advance, _check_dated_past_due
from simulator.valuation import SourceItem, _earlier


def _item(kind: str, date: str, earliest: str | None = None, dated_on: tuple[str, ...] | None = None) -> SourceItem:
    """An item of ``kind`` dated ``date``; a line's or an expense's own day is its date (as the valuer says)."""
    own = dated_on if dated_on is not None else (date,) if kind in ("timesheet_line", "expense") else ()
    return SourceItem(f"x:{kind}/1", kind, "ctr_1", "USD", 1000, date, 1, earliest=earliest, dated_on=own)


def _books(*charges: SimpleNamespace) -> ItemBooks:
    books = ItemBooks({"inv_jan": "2026-01", "inv_feb": "2026-02"})
    for charge in charges:
        books.add(charge.item, charge)
    return books


def _charge(item: str, amount: int, invoice_id: str | None, *, charge_date: str = "2026-02-01",
            created_at: str = "2026-02-01T00:00:00Z", status: str = "invoiced",
            reversal_of: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(id="chg_1", item=item, amount=amount, invoice_id=invoice_id, charge_date=charge_date,
                           created_at=created_at, status=status, currency="USD", reversal_of=reversal_of)


def test_a_month_billed_on_the_run_before_its_own_is_billed_in_advance() -> None:
    want = _item("retainer_period", "2026-02-01")
    result = Reconciliation()
    _check_billed_in_advance(result, want, _books(_charge(want.item, 1000, "inv_jan", charge_date="2026-01-31")))
    assert [(m.rule, m.actual) for m in result.mismatches] == [("early_invoice", 1000)]
    assert "on the run(s) for 2026-01, before the run for 2026-02" in result.mismatches[0].detail


def test_on_its_own_run_or_reversed_on_the_same_run_nothing_is_early() -> None:
    want = _item("retainer_period", "2026-02-01")
    for books in (_books(_charge(want.item, 1000, "inv_feb")),
                  _books(_charge(want.item, 1000, "inv_jan"), _charge(want.item, -1000, "inv_jan"))):
        result = Reconciliation()
        _check_billed_in_advance(result, want, books)
        assert result.mismatches == []


def test_a_milestone_accepted_ahead_of_plan_may_be_billed_from_its_acceptance() -> None:
    assert _earlier("2026-02-15", "2026-01-28T10:00:00Z", None) == "2026-01-28"
    assert _earlier("2026-02-15", "2026-02-20T10:00:00Z") is None  # accepted after plan: its date stands
    want = _item("milestone", "2026-02-15", earliest=_earlier("2026-02-15", "2026-01-28T10:00:00Z"))
    result = Reconciliation()
    _check_billed_in_advance(result, want, _books(_charge(want.item, 1000, "inv_jan", charge_date="2026-01-28")))
    assert result.mismatches == []


def test_a_charge_made_in_time_but_dated_past_its_run_is_misdated() -> None:
    want = _item("timesheet_line", "2026-01-12")
    made_in_time = _charge(want.item, 1000, "inv_feb", charge_date="2026-02-01", created_at="2026-01-20T09:00:00Z")
    result = Reconciliation()
    _check_dated_past_due(result, want, _books(made_in_time), ["2026-01", "2026-02"])
    assert [(m.rule, m.expected, m.actual) for m in result.mismatches] == \
        [("misdated_charge", "a date in 2026-01 at the latest", "2026-02-01")]


def test_a_charge_made_after_the_cut_off_or_dated_by_its_work_is_not_misdated() -> None:
    want = _item("timesheet_line", "2026-01-12")
    for charge in (_charge(want.item, 1000, "inv_feb", charge_date="2026-02-01", created_at="2026-02-01T03:00:00Z"),
                   _charge(want.item, 1000, "inv_jan", charge_date="2026-01-12", created_at="2026-01-20T09:00:00Z"),
                   _charge(want.item, 1000, None, charge_date="2026-02-01", created_at="2026-01-20T09:00:00Z",
                           status="held")):
        result = Reconciliation()
        _check_dated_past_due(result, want, _books(charge), ["2026-01", "2026-02"])
        assert result.mismatches == [], charge


def test_work_charged_in_time_is_dated_on_its_own_day() -> None:
    runs = ["2026-01", "2026-02"]
    for kind, date, dated in (("expense", "2026-01-12", "2026-01-14"), ("timesheet_line", "2026-01-12", "2026-01-31")):
        want = _item(kind, date)  # approved on the 14th, or filed on a report for the month
        result = Reconciliation()
        _check_dated_past_due(result, want, _books(_charge(want.item, 1000, "inv_jan", charge_date=dated,
                                                           created_at="2026-01-20T09:00:00Z")), runs)
        assert [(m.rule, m.expected, m.actual) for m in result.mismatches] == [("misdated_charge", date, dated)]
        assert "made at 2026-01-20T09:00:00Z, in time for its due run (for 2026-01)" in result.mismatches[0].detail


def test_a_milestone_is_charged_on_its_plan_or_its_acceptance_not_its_completion() -> None:
    want = _item("milestone", "2026-01-12", dated_on=("2026-01-12", "2026-01-15"))  # planned; accepted
    result = Reconciliation()
    _check_dated_past_due(result, want, _books(_charge(want.item, 1000, "inv_jan", charge_date="2026-01-10",
                                                       created_at="2026-01-15T09:00:00Z")), ["2026-01"])
    assert [(m.rule, m.expected, m.actual) for m in result.mismatches] == \
        [("misdated_charge", "2026-01-12 or 2026-01-15", "2026-01-10")]


def test_a_reversal_late_work_a_milestone_or_a_retainer_may_carry_another_day() -> None:
    runs = ["2026-01", "2026-02"]
    line = _item("timesheet_line", "2026-01-12")
    for want, charge in (
            (line, _charge(line.item, -1000, "inv_jan", charge_date="2026-01-25", created_at="2026-01-25T09:00:00Z",
                           reversal_of="chg_0")),
            (line, _charge(line.item, 1000, "inv_feb", charge_date="2026-02-03", created_at="2026-02-03T09:00:00Z")),
            (_item("milestone", "2026-01-12", dated_on=("2026-01-12", "2026-01-15")),
             _charge("x:milestone/1", 1000, "inv_jan", charge_date="2026-01-15", created_at="2026-01-15T09:00:00Z")),
            (_item("retainer_period", "2026-01-01"), _charge("x:retainer_period/1", 1000, "inv_jan",
                                                             charge_date="2026-01-02", created_at="2026-01-02T09:00:00Z"))):
        result = Reconciliation()
        _check_dated_past_due(result, want, _books(charge), runs)
        assert result.mismatches == [], (want.kind, charge)


def test_a_charge_made_after_its_due_run_is_dated_for_the_next_run_that_could_take_it() -> None:
    want = _item("timesheet_line", "2026-01-12")
    runs = ["2026-01", "2026-02"]
    result = Reconciliation()
    _check_dated_past_due(result, want, _books(_charge(want.item, 1000, None, charge_date="2026-03-01",
                                                       created_at="2026-02-10T09:00:00Z", status="unbilled")), runs)
    assert [(m.rule, m.expected) for m in result.mismatches] == [("misdated_charge", "a date in 2026-02 at the latest")]
    result = Reconciliation()  # made after the last run's cut-off: no run of the horizon could take it
    _check_dated_past_due(result, want, _books(_charge(want.item, 1000, None, charge_date="2026-03-01",
                                                       created_at="2026-03-01T01:00:00Z", status="unbilled")), runs)
    assert result.mismatches == []


def test_a_line_a_correction_removed_is_final_from_the_corrected_sheet_s_approval(simulation) -> None:
    """Its value, nothing, is known from the correction on; until then it was worth its hours. A reversal the
    connector makes at the correction, or at the corrected sheet's approval, is on time; judging it from the
    contract's signing alone demanded it on a run before the line was removed."""
    from simulator.scenario import load_scenario
    from simulator.valuation import Valuer
    from tests.conftest import ROOT

    run = simulation(load_scenario(ROOT / "conformance" / "scenarios" / "billing.yaml"), 1)
    valuer = Valuer(run.systems, run.truth)
    removed = [(sheet, line_id) for line_id, (sheet, _) in run.systems.psa.lines.items()
               if not any(line.id == line_id for line in sheet.lines)]
    assert removed, "the billing scenario's corrections delete lines"
    for sheet, line_id in removed:
        settled = valuer.line(line_id).settled_at
        assert settled >= (sheet.approved_at or sheet.submitted_at), (line_id, settled)
    assert run.reconciliation.mismatches == [] and run.reconciliation.late == []
