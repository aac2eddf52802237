"""The PSA records a connector creates are judged against the contract, and never date the money.

A PSA milestone carries the planned date the connector wrote when it set up
the contract. The oracle takes a milestone's date (which billing run it is
due on, whether it was billed in advance) from the contract's term, and a
PSA milestone planned on another date is a mismatch of its own
(``psa_milestone_date``): one wrong record, named once, moving nothing else.
"""

from __future__ import annotations

from simulator.oracle import reconcile
from simulator.valuation import Valuer


def test_a_milestone_planned_on_another_date_is_named_and_moves_no_money(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    assert result.reconciliation.ok
    milestones = sorted(result.systems.psa.milestones.values(), key=lambda m: m.id)
    moved = next(m for m in milestones if m.status == "approved")
    planned = moved.planned_date
    moved.planned_date = "2027-12-31"  # a year past the run: a due run of its own, had the oracle read it
    try:
        mismatches = reconcile(result.systems, result.truth).mismatches
        item = Valuer(result.systems, result.truth).milestone(moved.id)
    finally:
        moved.planned_date = planned  # the run is shared: put it back
    assert [(m.rule, m.item, m.expected, m.actual) for m in mismatches] == [
        ("psa_milestone_date", f"psa:milestone/{moved.id}", planned, "2027-12-31")]
    assert item.date == planned  # its due run and "billed in advance" are the contract's, not the record's


def test_every_psa_milestone_of_the_reference_is_planned_on_its_contracts_date(simulation, baseline) -> None:
    result = simulation(baseline, 1)
    clm, psa = result.systems.clm, result.systems.psa
    contract_of = {p.id: p.contract_ref for p in psa.projects.values()}
    assert psa.milestones
    for milestone in psa.milestones.values():
        terms = {t.ref: t.planned_date for t in clm.contracts[contract_of[milestone.project_id]].terms.milestones}
        assert milestone.planned_date == terms[milestone.ref]
