"""Approval-to-charge lag: percentiles, charges that never came, growth across the window."""

from __future__ import annotations

from types import SimpleNamespace

from mocks.core.clock import iso
from simulator.approval_lag import approval_lags, knee, lag_summary, percentile

T0 = 1_768_903_200.0  # 2026-01-20T10:00:00Z


def line(billable=True, hours=8):
    return SimpleNamespace(billable=billable, hours=hours)


def systems(approvals, charges):
    """approvals: (id, approved offset s, billable); charges: (approval id, created offset s), in creation order."""
    timesheets, records = {}, []
    for n, (approval_id, offset, billable) in enumerate(approvals):
        timesheets[f"tms{n}"] = SimpleNamespace(version=1, status="approved", lines=[line(billable)])
        records.append({"approval_id": approval_id, "kind": "timesheet", "entity_id": f"tms{n}", "version": 1,
                        "approved_at": iso(T0 + offset)})
    erp_charges = {f"chg{n}": SimpleNamespace(lineage={"approval_id": a}, created_at=iso(T0 + offset))
                   for n, (a, offset) in enumerate(charges)}
    return SimpleNamespace(psa=SimpleNamespace(approvals=records, timesheets=timesheets),
                           erp=SimpleNamespace(charges=erp_charges))


def test_percentile_is_nearest_rank():
    assert percentile([], 95) is None
    assert percentile([5.0], 95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0


def test_each_billable_approval_in_the_window_runs_to_its_first_charge():
    s = systems([("a1", 1, True), ("a2", 2, True), ("a3", 3, False), ("a4", 100, True)],
                [("a1", 2), ("a1", 9), ("a2", 6)])
    lags = approval_lags(s, T0, T0 + 60, T0 + 90)
    assert [(lag.approval_id, lag.lag_s, lag.charged) for lag in lags] == [("a1", 1.0, True), ("a2", 4.0, True)]


def test_an_approval_never_charged_counts_until_nobody_looked_and_is_missing():
    s = systems([("a1", 10, True)], [])
    [lag] = approval_lags(s, T0, T0 + 60, T0 + 90)
    assert (lag.lag_s, lag.charged) == (80.0, False)
    summary = lag_summary([lag], T0, T0 + 60)
    assert summary["missing"] == 1 and summary["p95_s"] == 80.0


def test_growth_shows_a_connector_falling_behind():
    # one approval a second for 60 s; the connector answers each later than the one before
    approvals = [(f"a{n}", n, True) for n in range(60)]
    charges = [(f"a{n}", n + n // 2) for n in range(60)]
    summary = lag_summary(approval_lags(systems(approvals, charges), T0, T0 + 60), T0, T0 + 60, buckets=6)
    p95s = [span["p95_s"] for span in summary["growth"]]
    assert p95s == sorted(p95s) and p95s[-1] > p95s[0]
    assert [span["approvals"] for span in summary["growth"]] == [10] * 6
    assert summary["approvals"] == 60 and summary["missing"] == 0


def test_the_knee_is_the_busiest_rate_before_the_lag_grows():
    growth = [{"approvals_per_s": r, "p95_s": p} for r, p in ((10, 1), (20, 1), (30, 2), (40, 9), (50, 30))]
    assert knee(growth) == 30
    assert knee(growth[:3]) == 30  # never over: the busiest rate seen
    assert knee([{"approvals_per_s": 10, "p95_s": 8}]) is None  # over from the first step
    assert knee([{"approvals_per_s": 0, "p95_s": None}]) is None


def test_a_step_profile_reads_its_growth_step_by_step():
    approvals = [(f"a{n}", n, True) for n in range(40)]
    charges = [(f"a{n}", n + (1 if n < 20 else 10)) for n in range(40)]  # lag jumps in the second half
    summary = lag_summary(approval_lags(systems(approvals, charges), T0, T0 + 40), T0, T0 + 40, buckets=4)
    assert [g["approvals_per_s"] for g in summary["growth"]] == [1.0] * 4
    assert summary["knee_approvals_per_s"] == 1.0


def test_the_rate_reached_spans_the_approvals_not_the_load_generator_s_start_up_and_shutdown():
    from simulator.load import LoadOutcome, LoadWindow

    def outcome(times, opened=1000.0, ended=1030.0):
        approvals = [{"kind": "timesheet", "approved_at": iso(t)} for t in times]
        approvals.append({"kind": "expense", "approved_at": iso(1010.0)})  # not a timesheet: not counted
        result = SimpleNamespace(systems=SimpleNamespace(psa=SimpleNamespace(approvals=approvals)))
        return LoadOutcome(result, LoadWindow(opened_s=opened, locust_ended_s=ended), None)

    # 20 a second for 15 s, after 5 s of start-up and before 10 s of shutdown: 20/s, not 300/30
    assert outcome([1005.0 + i / 20 for i in range(301)]).approvals_per_s() == 20.0
    assert outcome([1005.0 + i / 20 for i in range(301)] + [999.0, 1031.0]).approvals_per_s() == 20.0  # outside
    assert outcome([1005.0]).approvals_per_s() == 0.0
    assert outcome([]).approvals_per_s() == 0.0
    assert LoadOutcome(outcome([]).result, LoadWindow(), None).approvals_per_s() == 0.0
