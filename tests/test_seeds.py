"""Many seeds of the baseline: the reference connector reconciles on every one.

One seed can hide an ordering the connector gets wrong; ten seeds of the
full-domain baseline make that much less likely. Slow: CI runs it with
``pytest -m slow``.
"""

from __future__ import annotations

import pytest

from simulator.run import simulate

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", range(2, 12))
def test_baseline_reconciles(baseline, seed: int) -> None:
    kpis = simulate(baseline, seed=seed).kpis
    assert kpis["reconciliation"]["mismatches"] == 0, kpis["reconciliation"]["examples"]
    assert kpis["invoices"]["count"] > 0
    assert kpis["invoices"]["disputed"] == 0
    assert kpis["connector_errors"] == 0
