"""The drain: the run's last ``drain_days`` belong to the connector.

Found on seed 7 of the delivery-order scenario: a timesheet of the last
week, rejected and resubmitted, was approved 4 hours before the run ended,
with its webhook delayed by a day; the reference connector's 4-hourly feed
poll had not come round, and the verdict counted two lines as never
billed. During the drain the firm changes nothing, so every change it made
had at least ``drain_days`` to reach the ERP.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from simulator.firm.context import DAY
from simulator.run import simulate
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
FIRM_ACTS = ("psa.timesheet.approved", "psa.timesheet.rejected", "psa.timesheet.submitted", "psa.expense.approved",
             "psa.expense.rejected", "psa.milestone.approved", "clm.contract.signed", "clm.amendment.signed",
             "crm.account.updated")


def test_the_firm_changes_nothing_in_the_drain_and_a_late_webhook_is_still_billed() -> None:
    scenario = load_scenario(ROOT / "conformance" / "scenarios" / "delivery_order.yaml")
    records: list[dict] = []
    result = simulate(scenario, 7, sink=records.append)
    events = [r for r in records if r["kind"] == "event"]
    finish = dt.datetime.combine(scenario.end, dt.time(), dt.UTC).timestamp() + scenario.settle_days * DAY
    drain_from = finish - scenario.drain_days * DAY
    in_drain = [r for r in events if r["t"] >= drain_from and r["type"] in FIRM_ACTS]
    assert scenario.drain_days == 3
    assert not in_drain, in_drain[:3]
    assert [r for r in events if r["type"] == "psa.timesheet.approved" and r["t"] >= drain_from - 2 * DAY]  # busy
    assert result.reconciliation.mismatches == []
