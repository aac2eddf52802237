"""Approval-to-charge lag under load: how long each approved timesheet took to reach the ERP.

Pure: reads the systems' records, computes. One *approval* is a PSA
timesheet approval, made at ``approved_at``, of a version with billable
hours; its lag runs to the ``created_at`` of the first ERP charge citing
its ``approval_id`` (held charges count), or to when nobody looked any more
(it is then also counted as ``missing``). Both timestamps are the systems'
own, in whole seconds, so each lag is known to within a second.

``c2c load`` runs the firm in real time (one simulated second per wall
second) while locust plays the consultants and approvers, so these are wall
seconds. Growth tells whether the connector keeps up: the approvals are cut
by approval time into ``buckets`` equal spans of the window, and the p95 of
each span is given; a connector that falls behind shows a p95 that climbs
span after span. On a step profile the spans are its steps, and
:func:`knee` reads the rate at which the lag starts to grow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mocks.systems import Systems
from simulator.kpis import epoch_seconds, first_charge_by_approval


@dataclass(frozen=True)
class ApprovalLag:
    approval_id: str
    approved_s: float  # epoch seconds
    lag_s: float
    charged: bool


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile ``q`` (0-100) of ``values``; None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def billable_approvals(systems: Systems) -> Iterable[dict[str, Any]]:
    """Timesheet approvals of a version with billable hours, still standing: each should reach the ERP."""
    psa = systems.psa
    for approval in psa.approvals:
        if approval["kind"] != "timesheet":
            continue
        sheet = psa.timesheets[approval["entity_id"]]
        if sheet.version == approval["version"] and sheet.status == "approved" \
                and any(line.billable and line.hours > 0 for line in sheet.lines):
            yield approval


def approval_lags(systems: Systems, since_s: float, until_s: float, gave_up_s: float | None = None) -> list[ApprovalLag]:
    """The lag of every billable approval made in ``[since_s, until_s)`` (epoch seconds), in approval order; one
    that never reached the ERP counts until ``gave_up_s`` (default ``until_s``), when nobody looked any more."""
    gave_up_s = until_s if gave_up_s is None else gave_up_s
    charged = first_charge_by_approval(systems.erp)
    lags = []
    for approval in billable_approvals(systems):
        approved = epoch_seconds(approval["approved_at"])
        if not since_s <= approved < until_s:
            continue
        first = charged.get(approval["approval_id"])
        reached = epoch_seconds(first) if first is not None else None
        lags.append(ApprovalLag(approval["approval_id"], approved,
                                (reached if reached is not None else gave_up_s) - approved, reached is not None))
    return lags


def lag_summary(lags: Sequence[ApprovalLag], since_s: float, until_s: float, buckets: int = 6) -> dict[str, Any]:
    """Counts, p50/p95/p99 (seconds) and the p95 of each of ``buckets`` equal spans of ``[since_s, until_s)``."""
    values = [lag.lag_s for lag in lags]
    span = (until_s - since_s) / buckets if until_s > since_s else 0.0
    growth = []
    for i in range(buckets):
        start = since_s + i * span
        inside = [lag.lag_s for lag in lags if start <= lag.approved_s < start + span]
        growth.append({"from_s": round(i * span, 1), "to_s": round((i + 1) * span, 1), "approvals": len(inside),
                       "approvals_per_s": round(len(inside) / span, 2) if span else 0.0,
                       "p95_s": percentile(inside, 95)})
    return {
        "knee_approvals_per_s": knee(growth),
        "approvals": len(lags),
        "missing": sum(1 for lag in lags if not lag.charged),
        "p50_s": percentile(values, 50),
        "p95_s": percentile(values, 95),
        "p99_s": percentile(values, 99),
        "max_s": max(values, default=None),
        "growth": growth,
    }


KNEE_P95_S = 5.0  # a span whose p95 lag is above this has passed the knee


def knee(growth: list[dict[str, Any]], p95_s: float = KNEE_P95_S) -> float | None:
    """The approval rate at which lag starts to grow: the rate of the busiest span before the first span whose
    p95 is over ``p95_s`` (every span is under it: the busiest rate seen; the first is over: None). Read on a
    step profile, whose spans are its steps, each busier than the one before."""
    rates = []
    for span in growth:
        if span["p95_s"] is None:
            continue
        if span["p95_s"] > p95_s:
            return max(rates) if rates else None
        rates.append(span["approvals_per_s"])
    return max(rates) if rates else None
