"""The sync-lag measurement: when the clock starts, when a record is in line, and what a restart changes.

Unit tests of the pure core (:mod:`simulator.sync_lag`) on hand-written
records, then the measurement of real runs: the reference connector has
every record in line within seconds of the webhook, a nightly customer
batch does not, and a recorded run says which deliveries reached a
running connector and when it was down.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from simulator.run import simulate
from simulator.scenario import Crashes, Faults, Window
from simulator.sync_lag import (
    ACCOUNT_UPDATED,
    CONTRACT_SIGNED,
    NEVER,
    TIMESHEET_ADJUSTED,
    TIMESHEET_APPROVED,
    Disruption,
    SourceChange,
    State,
    SyncRecords,
    Targets,
    first_in_line,
    measure,
    restarted,
    targets_of,
)
from tests.broken_connectors import syncs_customers_nightly

HOUR = 3600.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
NO_TARGETS = Targets({}, {}, {}, {})


def state(order: int, at: float, value: str, record: str = "") -> State:
    return State(order, T0 + at, (value,), record)


def change(order: int, at: float, kind: str = ACCOUNT_UPDATED, entity: str = "acc_1", approval: str | None = None,
           event: str | None = None) -> SourceChange:
    return SourceChange(order, event or f"evt_{order}", kind, entity, 1, T0 + at, approval)


# -- in line: a customer against its account -------------------------------------------------------


def test_a_customer_is_in_line_when_it_holds_the_account_as_it_then_stands() -> None:
    account = [state(1, 0, "old"), state(3, 100, "new")]
    customer = [state(2, 1, "old", "cus_1"), state(4, 200, "new", "cus_1")]
    assert first_in_line(account, customer, since=1) == T0 + 1
    assert first_in_line(account, customer, since=3) == T0 + 200


def test_a_change_overtaken_by_the_next_is_in_line_with_the_next() -> None:
    account = [state(1, 0, "a"), state(2, 60, "b"), state(3, 120, "c")]
    customer = [state(4, 121, "c", "cus_1")]  # "b" never reached the ERP, "c" did
    assert first_in_line(account, customer, since=2) == T0 + 121


def test_a_change_that_alters_nothing_the_erp_holds_is_in_line_at_once() -> None:
    account = [state(1, 0, "a"), state(3, 50, "a")]
    customer = [state(2, 1, "a", "cus_1")]
    assert first_in_line(account, customer, since=3) == T0 + 50


def test_a_customer_that_never_follows_is_never_in_line() -> None:
    assert first_in_line([state(1, 0, "a"), state(3, 9, "b")], [state(2, 1, "a", "cus_1")], since=3) is None


def test_any_of_two_customers_of_one_account_may_hold_it() -> None:
    customers = [state(2, 1, "x", "cus_1"), state(3, 2, "a", "cus_2")]
    assert first_in_line([state(1, 0, "a")], customers, since=1) == T0 + 2


# -- when the clock starts ----------------------------------------------------------------------


def kill(at: float, end: float | None = None, kind: str = "kill") -> Disruption:
    return Disruption(kind, T0 + at, T0 + (at if end is None else end), f"{kind} at {at}")


def test_a_kill_within_the_hour_starts_the_clock_again_at_the_restart() -> None:
    anchor, moved = restarted(T0, T0 + 10 * HOUR, [kill(0.5 * HOUR)], HOUR)
    assert anchor == T0 + 0.5 * HOUR and [d.what for d in moved] == ["kill at 1800.0"]


def test_a_kill_after_the_hour_excuses_nothing() -> None:
    """Already late when the connector died: a later restart must not start the clock again."""
    assert restarted(T0, T0 + 10 * HOUR, [kill(2 * HOUR)], HOUR) == (T0, ())


def test_a_kill_after_the_record_was_in_line_excuses_nothing() -> None:
    assert restarted(T0, T0 + 60, [kill(120)], HOUR) == (T0, ())


def test_downtime_that_covers_the_change_starts_the_clock_at_its_end() -> None:
    downtime = kill(-HOUR, 29 * HOUR, "downtime")
    assert restarted(T0, NEVER, [downtime], HOUR) == (T0 + 29 * HOUR, (downtime,))


def test_restarts_chain_while_each_strikes_within_the_new_hour() -> None:
    first, second, too_late = kill(0.9 * HOUR), kill(1.8 * HOUR), kill(3.0 * HOUR)
    anchor, moved = restarted(T0, NEVER, [too_late, second, first], HOUR)
    assert anchor == T0 + 1.8 * HOUR and moved == (first, second)


# -- the measurement -----------------------------------------------------------------------------


def records(*changes: SourceChange, **fields) -> SyncRecords:
    return SyncRecords(changes=list(changes), **fields)


def test_the_clock_starts_when_the_webhook_reached_a_running_connector() -> None:
    signed = change(1, 0, CONTRACT_SIGNED, "ctr_1", event="e1")
    run = records(signed, delivered={"e1": T0 + 2 * HOUR}, offered={"e1"})
    targets = Targets({"ctr_1": T0 + 2.5 * HOUR}, {"ctr_1": T0 + 4 * HOUR}, {}, {})
    billing, project = measure(run, targets, HOUR)
    assert billing.entity == "erp:billing_project of clm:contract/ctr_1" and billing.seconds == 0.5 * HOUR
    assert not billing.late(HOUR) and project.late(HOUR) and project.seconds == 2 * HOUR


def test_a_webhook_that_never_reached_the_connector_is_measured_but_not_delivered() -> None:
    (lag,) = measure(records(change(1, 0, CONTRACT_SIGNED, "ctr_1", event="e1"), offered={"e1"}),
                     Targets({"ctr_1": T0 + 20 * HOUR}, {}, {}, {}), HOUR)[:1]
    assert not lag.delivered and lag.seconds == 20 * HOUR


def test_a_change_the_connector_did_not_subscribe_to_is_timed_from_the_change() -> None:
    (lag, _) = measure(records(change(1, 0, CONTRACT_SIGNED, "ctr_1")), Targets({"ctr_1": T0 + 5 * HOUR}, {}, {}, {}),
                       HOUR)
    assert lag.delivered and lag.seconds == 5 * HOUR and lag.late(HOUR)


def test_a_record_never_in_line_has_an_endless_lag() -> None:
    (lag, _) = measure(records(change(1, 0, CONTRACT_SIGNED, "ctr_1")), NO_TARGETS, HOUR)
    assert lag.synced_at is None and lag.seconds == NEVER and lag.words() == "never in line"


def test_an_approval_withdrawn_before_any_charge_was_missing_until_the_withdrawal() -> None:
    approved = change(1, 0, TIMESHEET_APPROVED, "tms_1", "apr_1")
    adjusted = change(2, 30 * HOUR, TIMESHEET_ADJUSTED, "tms_1", "apr_1")
    lags = measure(records(approved, adjusted), Targets({}, {}, {"apr_1": T0 + 31 * HOUR}, {}), HOUR)
    charge, reversal = lags
    assert charge.synced_at is None and charge.withdrawn_at == T0 + 30 * HOUR and charge.seconds == 30 * HOUR
    assert "withdrawn" in charge.words()
    assert reversal.entity == "erp:reversal of the charges citing psa:approval/apr_1" and reversal.seconds == 0


def test_a_withdrawal_is_in_line_when_the_last_charge_citing_it_is_closed() -> None:
    adjusted = change(1, 0, TIMESHEET_ADJUSTED, "tms_1", "apr_1")
    (lag,) = measure(records(adjusted), Targets({}, {}, {}, {"apr_1": T0 + 3 * HOUR}), HOUR)
    assert lag.seconds == 3 * HOUR
    (still_open,) = measure(records(adjusted), Targets({}, {}, {}, {"apr_1": NEVER}), HOUR)
    assert still_open.synced_at is None


def test_a_kill_after_the_webhook_reached_the_connector_is_a_strike() -> None:
    signed = change(1, 0, CONTRACT_SIGNED, "ctr_1", event="e1")
    run = records(signed, delivered={"e1": T0 + 1}, offered={"e1"},
                  disruptions=[kill(0.5), kill(100), kill(5 * HOUR)])
    lag, _ = measure(run, Targets({"ctr_1": T0 + 4 * HOUR}, {"ctr_1": T0}, {}, {}), HOUR)
    assert [d.what for d in lag.struck] == ["kill at 100"]  # not before the delivery, not after the record was in line
    assert lag.anchor == T0 + 100 and lag.late(HOUR)


def test_targets_read_the_first_record_and_when_each_approvals_charges_closed() -> None:
    def charge(id_, approval, created, reversal_of=None, released_at=None):
        return id_, SimpleNamespace(id=id_, lineage={"approval_id": approval}, created_at=created,
                                    reversal_of=reversal_of, released_at=released_at)

    erp = SimpleNamespace(
        billing_projects={"b1": SimpleNamespace(contract_ref="ctr_1", created_at="2026-01-01T02:00:00Z"),
                          "b2": SimpleNamespace(contract_ref="ctr_1", created_at="2026-01-01T01:00:00Z")},
        charges=dict([charge("c1", "apr_1", "2026-01-01T01:00:00Z"),
                      charge("c2", "apr_1", "2026-01-01T01:30:00Z", released_at="2026-01-01T05:00:00Z"),
                      charge("r1", "apr_1", "2026-01-01T04:00:00Z", reversal_of="c1"),
                      charge("c3", "apr_2", "2026-01-01T03:00:00Z")]))
    psa = SimpleNamespace(projects={"p1": SimpleNamespace(contract_ref="ctr_1", created_at="2026-01-01T00:30:00Z")})
    targets = targets_of(erp, psa)
    assert targets.billing_projects == {"ctr_1": T0 + HOUR} and targets.psa_projects == {"ctr_1": T0 + 0.5 * HOUR}
    assert targets.first_charge == {"apr_1": T0 + HOUR, "apr_2": T0 + 3 * HOUR}
    assert targets.closed == {"apr_1": T0 + 5 * HOUR, "apr_2": NEVER}


# -- runs -----------------------------------------------------------------------------------------


def late(result, within_s: float = HOUR):
    lags = measure(result.sync, targets_of(result.systems.erp, result.systems.psa), within_s)
    return lags, [lag for lag in lags if lag.delivered and lag.late(within_s)]


def test_the_reference_connector_has_every_record_in_line_within_seconds(baseline, simulation) -> None:
    lags, overdue = late(simulation(baseline, 1))
    kinds = {lag.change.type for lag in lags}
    assert {"crm.account.created", CONTRACT_SIGNED, TIMESHEET_APPROVED, "psa.expense.approved",
            TIMESHEET_ADJUSTED} <= kinds
    assert not overdue and max(lag.seconds for lag in lags) < 60


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_a_nightly_customer_batch_leaves_customers_missing_for_hours_with_a_clean_end_state(baseline) -> None:
    result = simulate(baseline, seed=1, factory=syncs_customers_nightly.build)
    assert result.reconciliation.ok, "the ERP is right in the end"
    _, overdue = late(result)
    assert overdue and {lag.entity.split(" of ")[0] for lag in overdue} == {"erp:customer"}
    assert all(lag.synced_at is not None and lag.seconds > 2 * HOUR for lag in overdue)


def test_a_run_records_deliveries_only_to_a_running_connector(baseline) -> None:
    start = baseline.start
    down = Window(start=f"{start.year}-{start.month:02d}-05T00:00:00", hours=30)
    scenario = baseline.model_copy(update={"faults": Faults(crashes=Crashes(downtime=[down]))})
    result = simulate(scenario, seed=1)
    (downtime,) = [d for d in result.sync.disruptions if d.kind == "downtime"]
    assert downtime.end - downtime.start == 30 * HOUR and downtime.what == "down for 30 h"
    assert not any(downtime.start <= at < downtime.end for at in result.sync.delivered.values())
    _, overdue = late(result)
    assert not overdue, [(lag.entity, lag.seconds) for lag in overdue[:3]]
