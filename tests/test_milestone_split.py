"""Milestones of different sizes: ``contracts.milestone_split: drawn`` weights each of a fixed fee's milestones.

With every milestone the same size, a connector that charged the fee over the milestone count, or looked a
milestone up by position, charged the right amount; only an amended contract could tell. The billing scenario
weights them (1 to 3 each, drawn per deal from a stream of its own, so no other draw moves). That such a connector
fails C2C-BILL-004 is tests/conformance/test_escaped_defects.py's ``splits_fees_evenly_across_milestones``.
"""

from __future__ import annotations

import pytest

from simulator.scenario import CURRENCY_MINOR_UNITS, load_scenario
from tests.conftest import ROOT

BILLING = ROOT / "conformance" / "scenarios" / "billing.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BILLING)


@pytest.fixture(scope="module")
def run(simulation, scenario):
    return simulation(scenario, 1)


def _signed_milestones(result) -> dict[str, tuple[str, list[int]]]:
    """Each fixed-fee contract's currency and milestone amounts as signed (before any amendment)."""
    signed = {}
    for contract in result.systems.clm.contracts.values():
        if contract.billing_type == "fixed_fee_milestones":
            terms = contract.history[0] if contract.history else contract.terms
            signed[contract.id] = contract.currency, [m.amount for m in terms.milestones]
    return signed


def test_drawn_milestones_differ_in_size_and_even_ones_do_not(run, simulation, scenario) -> None:
    even = simulation(scenario.model_copy(update={"contracts": scenario.contracts.model_copy(
        update={"milestone_split": "even"})}), 1)
    drawn, split = _signed_milestones(run), _signed_milestones(even)
    assert drawn.keys() == split.keys() and len(drawn) >= 2
    assert all(len(set(amounts)) == 1 for _, amounts in split.values())
    assert sum(len(set(amounts)) > 1 for _, amounts in drawn.values()) >= len(drawn) // 2, drawn
    for contract, (currency, amounts) in drawn.items():  # the same fee shared out, each share rounded to 10 units
        step = 10 * 10 ** CURRENCY_MINOR_UNITS[currency]
        assert abs(sum(amounts) - sum(split[contract][1])) <= 2 * step * len(amounts), (amounts, split[contract])
    assert not run.reconciliation.mismatches
