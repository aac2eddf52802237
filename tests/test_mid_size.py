"""The mid-size firm, a full year: the whole domain reconciles to the minor unit.

Slow (about half a minute): CI runs it with ``pytest -m slow``. It is the
issue's acceptance run: 0 mismatches, and non-zero counts of every
billing type, amendments (retro ones too), cap holds and releases,
post-invoice adjustments and JPY invoices, so a clean result cannot come
from a run that never exercised the rules.
"""

from __future__ import annotations

import pytest

from simulator.run import simulate
from simulator.scenario import load_scenario
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kpis():
    return simulate(load_scenario(ROOT / "scenarios" / "mid_size.yaml"), seed=1).kpis


def test_reconciles_with_no_mismatch(kpis) -> None:
    recon = kpis["reconciliation"]
    assert recon["mismatches"] == 0, recon["examples"]
    assert recon["items_checked"] >= recon["approved_billable_lines"] > 10_000
    assert kpis["revenue_leakage"] == {} and kpis["over_billing"] == {}
    assert kpis["invoices"]["disputed"] == 0
    assert kpis["connector_errors"] == 0


def test_every_rule_was_exercised(kpis) -> None:
    signed = kpis["contracts"]["signed_by_billing_type"]
    assert all(signed.get(kind, 0) > 0 for kind in ("time_and_materials", "capped_tm", "fixed_fee_milestones",
                                                    "retainer")), signed
    assert kpis["contracts"]["amendments"] > 0 and kpis["contracts"]["retro_amendments"] > 0
    ledger = kpis["ledger"]
    assert ledger["cap_holds"] > 0 and ledger["cap_releases"] > 0, ledger
    assert ledger["post_invoice_adjustments"] > 0, ledger
    assert kpis["invoices"]["count_by_currency"].get("JPY", 0) > 0
    assert set(kpis["invoices"]["count_by_currency"]) == {"USD", "GBP", "EUR", "JPY"}
