"""Defects the suite once certified, found by planting defects it had not been shown: each now fails.

Each connector goes through ``pytest conformance/`` as a vendor runs it, restricted to the requirement that
must catch it. Most of these connectors charge every amount right; what is wrong is when, on whose authority, what
they tell the ERP or the PSA, or, on an exact tie, how they round:

- ``bills_retainers_in_advance``: every charge dated a day early (head office's midnight read in UTC), so each
  retainer month lands on the previous month's invoice. The oracle's ``early_invoice`` rule: nothing is on a
  posted document of a period before its own (C2C-BILL-009, on the billing scenario).
- ``dates_recovered_work_next_month``: work recovered from the change feed dated the 1st of next month, so it
  misses the run it was due on though the connector charged it in time. The ``misdated_charge`` rule: a charge
  made before its due run's cut-off is dated within that run's period. No fault excuses it, so the lost-webhook
  requirement (C2C-RECON-002) claims it; the billing scenario, which loses no webhook, never shows it.
- ``cites_setup_contract_version``: re-priced charges cite the contract version of the set-up, whose terms do
  not give their price. The ``lineage`` rule: an open charge cites a version that prices the item as it stands
  (C2C-TRACE-001).
- ``keeps_removed_lines_charged``: a line an adjustment deleted keeps its charge. The suite's firm never deleted a
  line, so no run could show it; the billing scenario's corrections now sometimes do (``adjustment_removes_line``),
  and the line's value, nothing, is C2C-BILL-006's.
- ``marks_whole_timesheet_billed``: the write-back marks every line of a timesheet the invoice touches, held and
  non-billable work included. The ``billing_writeback`` rule, walked both ways: a PSA item marked billed cites an
  invoice that carries it (C2C-TRACE-002, a SHOULD: judged on the ``full`` profile).
- ``plans_milestones_at_contract_end``: PSA milestones planned on the contract's end date. The oracle checked
  only that each was there, and took a milestone's date from that record, so its due run moved with the
  defect. A milestone is now dated by its contract, and the ``psa_milestone_date`` rule names the record
  (C2C-BILL-004).
- ``writes_back_each_item_once``: the write-back marks each item once, so work reversed and billed again on a
  later invoice keeps citing the first. The ``billing_writeback`` rule accepted any invoice that ever carried the
  item; it now wants one carrying a charge of it that still stands (C2C-TRACE-002; C2C-RECON-001 on the core
  profile, where the fault storm's amendments re-bill work).
- ``charges_labour_as_lump_sums``: labour charged as one unit at the line's amount, so invoices show no hours and
  no rate. Nothing read a charge's quantity or unit price; the ``hours_and_rate`` rule does (C2C-BILL-002).
- ``shortens_customer_names``: customer names cut to an older ERP's 30 characters though this one takes 40. The
  oracle compared the full legal name only; the display name is now the legal name wherever it fits (C2C-BILL-008).
- ``starts_projects_at_signature``: PSA projects start on the contract's signature, not its term. The oracle checked
  only a project's contract reference; the ``psa_project`` rule now checks its start date too (C2C-BILL-008).
- ``dates_expenses_at_month_end``: expense charges dated on their month's last day, the expense report's. The
  dating rules only asked whether a date kept work off its run; a timesheet line's or an expense's charge made in
  time for its due run is now dated on the item's own day (``misdated_charge``, C2C-BILL-009).
- ``dates_milestones_by_completion``: milestone charges dated on the team's completion, before the client accepted.
  A milestone's charge made in time is dated on its plan or its acceptance (``misdated_charge``, C2C-BILL-009).
- ``ignores_credit_notes``: the write-back listens for posted invoices only. The firm never issued a credit note,
  so nothing could show it; clients of the billing scenario now query final invoices and hours are written off
  (``final_invoice_write_offs``), the next run nets negative, and the credit note carries the line's new charge,
  which the PSA must cite (``billing_writeback``, C2C-TRACE-002).
- ``creates_customers_at_signing``: ERP customers created when a contract is signed, not when the CRM account is.
  The oracle wanted a customer only for accounts with a signed contract, though C2C-BILL-008 says each CRM account
  is exactly one ERP customer; accounts whose deal was lost now count too (``missing_customer``). On a seed where
  every account the firm made went on to sign there were none, so the billing scenario also enters three leads
  that never buy (``customers.leads``).
- ``reverses_under_the_current_version``: a reversal cites the contract version it was made under, not the charge
  it reverses. Lineage was checked on open charges only; a reversal now carries its charge's lineage (``lineage``,
  C2C-TRACE-001).
- ``charges_expenses_by_markup_factor``: an expense charged as its markup factor times its raw cost. Quantity and
  unit price were read on labour only; an expense or milestone is one unit at its value (``hours_and_rate``,
  C2C-BILL-002).
- ``dates_retainers_at_month_end``: a retainer month dated on its last day. A retainer had no day of its own for
  the dating rule; it is now its first (``misdated_charge``, C2C-BILL-009).
- ``omits_payment_terms``: billing projects created without the contract's payment terms, so the ERP's net 30
  applies. Every contract was on net 30, so the oracle's ``billing_project`` check could not tell; the billing
  scenario's contracts now draw their terms from 14, 30, 45 and 60 days (``payment_terms_days``, C2C-BILL-008).
- ``picks_entity_by_currency``: a billing project's legal entity looked up from the contract's currency. Each
  entity had a currency of its own, so the two always agreed; the billing scenario now has two entities billing in
  euros (``billing_project``, C2C-BILL-008).
- ``rounds_markups_half_even``: marked-up expenses rounded half-even. Markups drawn to a tenth of a percent made
  half a minor unit rare (one seed in six); every billing-scenario expense is now marked up by 12.5 %, so a cost 4
  over a multiple of 8 is a tie (``net_charge`` off by one, C2C-BILL-007).
- ``patches_address_and_tax_id_only``: an account's update reaches its customer without the name. The firm's
  accounts only ever moved office or corrected a tax id; in the stale-versions scenario some now rebrand too
  (``account_renames``), and the customer's legal and display names must follow (C2C-ORDER-002).
- ``cuts_feed_pages_when_throttled``: a change-feed page cut at the first throttle while its cursor moves past it.
  The throttled scenario lost no webhook, so every event also came by webhook; it now loses a fifth of them and
  has the endpoint down for 40 hours, and the feed's backlog is throttled part-way (C2C-RATE-001).
- ``splits_fees_evenly_across_milestones``: each milestone charged the fixed fee over the milestone count. Every
  contract's milestones were the same size, so only an amended one could show it (one seed in two); the billing
  scenario's milestones are now weighted (``milestone_split: drawn``, C2C-BILL-004).

The reference on the same requirements is the control.
"""

from __future__ import annotations

import pytest

from tests.conformance.test_suite import outcome, run_suite

pytest_plugins = ["pytester"]

CASES = [  # requirement, planted connector, what its findings must say (the oracle rule and the words of the check)
    ("C2C-BILL-009", "bills_retainers_in_advance", "[early_invoice]", "billed in advance"),
    ("C2C-RECON-002", "dates_recovered_work_next_month", "[misdated_charge]", "so that run could not take it"),
    ("C2C-TRACE-001", "cites_setup_contract_version", "[lineage]", "must cite a contract version whose terms"),
    ("C2C-TRACE-002", "marks_whole_timesheet_billed", "[billing_writeback]", "no posted invoice carries it"),
    ("C2C-BILL-006", "keeps_removed_lines_charged", "[", ""),  # capped_item or net_charge, by where the line was
    ("C2C-BILL-004", "plans_milestones_at_contract_end", "[psa_milestone_date]", "planned date of"),
    ("C2C-TRACE-002", "writes_back_each_item_once", "[billing_writeback]", "whose charge for it was reversed"),
    ("C2C-BILL-002", "charges_labour_as_lump_sums", "[hours_and_rate]", "a labour charge shows the line's hours"),
    ("C2C-BILL-008", "shortens_customer_names", "[customer_master_data]", "which fits the ERP's 40 characters"),
    ("C2C-BILL-008", "starts_projects_at_signature", "[psa_project]", "start date is not the start of"),
    ("C2C-BILL-009", "dates_expenses_at_month_end", "[misdated_charge]", "an expense is charged on the day it was"),
    ("C2C-BILL-009", "dates_milestones_by_completion", "[misdated_charge]", "the day the client accepted it"),
    ("C2C-TRACE-002", "ignores_credit_notes", "[billing_writeback]", "later invoice or credit note"),
    ("C2C-BILL-008", "creates_customers_at_signing", "[missing_customer]", "the CRM account has no ERP customer"),
    ("C2C-TRACE-001", "reverses_under_the_current_version", "[lineage]", "a reversal carries the lineage"),
    ("C2C-BILL-002", "charges_expenses_by_markup_factor", "[hours_and_rate]", "is charged as one unit at its value"),
    ("C2C-BILL-009", "dates_retainers_at_month_end", "[misdated_charge]", "a retainer month is charged on its first"),
    ("C2C-BILL-008", "omits_payment_terms", "[billing_project]", "field payment_terms_days differs"),
    ("C2C-BILL-008", "picks_entity_by_currency", "[billing_project]", "field legal_entity differs"),
    ("C2C-BILL-007", "rounds_markups_half_even", "[net_charge]", ", expense dated"),
    ("C2C-ORDER-002", "patches_address_and_tax_id_only", "[customer_master_data]", "field legal_name differs"),
    ("C2C-RATE-001", "cuts_feed_pages_when_throttled", "[", ""),  # whatever the events it left out announced
    ("C2C-BILL-004", "splits_fees_evenly_across_milestones", "[net_charge]", "milestone"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("requirement_id", "name", "rule", "words"), CASES, ids=[case[1] for case in CASES])
def test_a_defect_the_suite_once_certified_is_failed(pytester: pytest.Pytester, requirement_id: str, name: str,
                                                        rule: str, words: str) -> None:
    connector = f"tests.broken_connectors.{name}:build"
    result, report = run_suite(pytester, "--connector", connector, "--c2c-profile", "full", "-k", requirement_id)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-2000:]
    entry = outcome(report, requirement_id)
    assert entry["outcome"] == "fail", entry
    findings = entry["failure"]["findings"]
    assert any(rule in finding["detail"] and words in finding["detail"] for finding in findings), findings[:3]
    assert not report["verdicts"]["full"]["certified"]


@pytest.mark.slow
def test_the_reference_passes_those_requirements(pytester: pytest.Pytester) -> None:
    result, _ = run_suite(pytester, "--c2c-profile", "full", "-k", " or ".join(case[0] for case in CASES))
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
