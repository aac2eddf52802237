"""Retainers survive a connector that was not listening on the 1st.

The ERP announces each period once (``period.opened``). A connector that was
down, or dropped that webhook, must still charge every retainer for that
period: the reference connector sweeps the ERP's open periods every few
hours and bills any period it has not billed yet. Here the deafness is
total (every ``period.opened`` delivery is acknowledged and ignored), so
every retainer charge in the run comes from the sweep.
"""

from __future__ import annotations

from typing import Any

import pytest

from reference_impl.connector import ReferenceConnector
from reference_impl.settlement import Settlement
from simulator.run import simulate


class DeafOnTheFirst(ReferenceConnector):
    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.handlers["erp.period.opened"] = lambda period: None  # acknowledged, never acted on


def test_the_period_sweep_bills_every_retainer_period_it_never_heard_of(baseline) -> None:
    result = simulate(baseline, seed=1, factory=DeafOnTheFirst)
    assert result.reconciliation.ok, [str(m) for m in result.reconciliation.mismatches[:5]]
    retainer_charges = [c for c in result.systems.erp.charges.values()
                        if c.lineage.get("source_type") == "retainer_period" and c.amount > 0]
    assert retainer_charges, "baseline seed 1 has retainers, so the sweep had periods to catch up on"
    assert {c.lineage["period"] for c in retainer_charges} <= set(result.systems.erp.periods_opened)


class NoSweep(Settlement):
    def sweep_periods(self) -> None:
        return None


class DeafAndNoSweep(DeafOnTheFirst):
    def build_settlement(self) -> Settlement:
        return NoSweep(self.runtime, self.clients, self.ledger, self.writer, self.mappings, self.contracts,
                       self.valuation)


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_without_the_sweep_the_same_deafness_leaks_retainer_periods(baseline) -> None:
    """The counterfactual: it is the sweep, not luck, that saves the connector above."""
    result = simulate(baseline, seed=1, factory=DeafAndNoSweep)
    missed = [m for m in result.reconciliation.mismatches if m.item.startswith("clm:retainer_period/")]
    assert missed and all(m.actual == 0 < m.expected for m in missed), [str(m) for m in missed[:3]]
