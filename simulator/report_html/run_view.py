"""What the report shows for one ``c2c simulate`` run: cards, series, tables and the contract timeline.

Pure: :func:`run_view` takes the run's files as read
(:class:`~simulator.report_html.inputs.RunFiles`) and its digested trace,
and returns plain values (money already in major units of its currency,
days as dates); rendering them is :mod:`simulator.report_html.charts` and
:mod:`simulator.report_html.page`'s job. The same files give the same view.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from simulator.report_html.contract_timeline import Timeline
from simulator.report_html.inputs import MismatchRecord, Percentiles, RunFiles
from simulator.report_html.trace_digest import INTERFACES, TraceDigest
from simulator.scenario import CURRENCY_MINOR_UNITS

MISMATCH_ROWS = 100  # the table shows the first this many; the rest are counted (all are in mismatches.jsonl)

# Each pickup interface, and the kpis.json sync latency (source change to ERP record) drawn beside it.
KPI_OF_INTERFACE = {
    "CRM account created": "crm_account_to_erp_customer_minutes",
    "CLM contract signed or amended": "clm_contract_to_erp_billing_project_minutes",
    "PSA timesheet or expense approved": "psa_approval_to_erp_charge_minutes",
}


def major(minor: int | float, currency: str) -> float:
    return minor / 10 ** CURRENCY_MINOR_UNITS.get(currency, 2)


def money(minor: int | float, currency: str) -> str:
    places = CURRENCY_MINOR_UNITS.get(currency, 2)
    return f"{currency} {major(minor, currency):,.{places}f}"


def by_currency(amounts: dict[str, int]) -> str:
    return " · ".join(money(v, c) for c, v in amounts.items() if v) or "none"


def duration(minutes: float | None) -> str:
    """Minutes as a person reads them: seconds under a minute, minutes under two hours, then hours, then days."""
    if minutes is None:
        return "n/a"
    if minutes < 1:
        return f"{minutes * 60:,.0f} s"
    if minutes < 120:
        return f"{minutes:,.1f} min"
    if minutes < 72 * 60:
        return f"{minutes / 60:,.1f} h"
    return f"{minutes / 1440:,.1f} d"


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    note: str = ""
    tone: str = ""  # "good", "bad" or "" (neutral)


@dataclass(frozen=True)
class WipPoint:
    month_end: dt.date
    unbilled: float  # major units
    held_over_cap: float


@dataclass(frozen=True)
class Distribution:
    """Samples of one latency, with the kpis.json percentiles to draw beside them (same unit)."""

    name: str
    samples: list[float]
    kpi: Percentiles | None
    unmatched: int = 0  # events the measure could not close (never read by id)


@dataclass(frozen=True)
class MismatchRow:
    rank: int
    rule: str
    item: str
    expected: str
    actual: str
    at_stake: str
    detail: str


@dataclass(frozen=True)
class RuleTotal:
    rule: str
    count: int
    money: str


@dataclass(frozen=True)
class RunView:
    title: str
    subtitle: str
    cards: list[Card]
    wip: dict[str, list[WipPoint]]  # currency -> month ends
    cycle: Distribution
    pickup: list[Distribution]
    leakage: dict[str, float]  # currency -> major units
    over_billing: dict[str, float]
    days: list[dt.date]
    calls: dict[str, list[int]]  # system -> calls per day, aligned with days
    failed_calls: list[int]
    faults: dict[str, list[int]]  # fault kind -> per day
    mismatch_rows: list[MismatchRow]
    mismatches_total: int
    rule_totals: list[RuleTotal]
    stake_by_rule: list[tuple[str, float]]  # ("rule · currency", major units), most first
    timeline: Timeline | None


def run_view(files: RunFiles, digest: TraceDigest, timeline: Timeline | None) -> RunView:
    kpis = files.kpis
    currencies = sorted({*kpis.invoices.count_by_currency, *kpis.revenue_leakage, *kpis.over_billing,
                         *(c for snapshot in kpis.unbilled_wip for c in snapshot.by_currency)})
    wip: dict[str, list[WipPoint]] = {}
    for currency in currencies:
        points = [WipPoint(dt.date.fromisoformat(s.month_end), major(s.by_currency.get(currency, 0), currency),
                           major(s.held_over_cap.get(currency, 0), currency)) for s in kpis.unbilled_wip]
        if any(p.unbilled or p.held_over_cap for p in points):
            wip[currency] = points
    days = digest.days()
    rows = [_row(rank, m) for rank, m in enumerate(sorted(files.mismatches, key=_by_money)[:MISMATCH_ROWS], 1)]
    latency = kpis.sync_latency
    return RunView(
        title=f"{kpis.scenario} · seed {kpis.seed}",
        subtitle=f"simulated {kpis.period.start} to {kpis.period.end} · kpis.json schema {kpis.schema_version}",
        cards=_cards(files, digest),
        wip=wip,
        cycle=Distribution("invoice cycle time: approval → the PSA shows the item billed (hours)", digest.cycle_hours,
                           kpis.invoices.cycle_time_hours),
        pickup=[Distribution(interface, digest.pickup_minutes[interface], latency.get(KPI_OF_INTERFACE[interface]),
                             digest.never_read[interface])
                for interface in INTERFACES],
        leakage={c: major(v, c) for c, v in kpis.revenue_leakage.items() if v},
        over_billing={c: major(v, c) for c, v in kpis.over_billing.items() if v},
        days=days,
        calls={system: [digest.calls[system][day] for day in days] for system in sorted(digest.calls)},
        failed_calls=[digest.failed_calls[day] for day in days],
        faults={kind: [digest.faults[kind][day] for day in days] for kind in sorted(digest.faults)},
        mismatch_rows=rows,
        mismatches_total=len(files.mismatches),
        rule_totals=_rule_totals(files.mismatches),
        stake_by_rule=_stake_by_rule(files.mismatches),
        timeline=timeline,
    )


def _cards(files: RunFiles, digest: TraceDigest) -> list[Card]:
    kpis = files.kpis
    recon, invoices = kpis.reconciliation, kpis.invoices
    late = f"; {recon.late_invoices:,} invoiced a run late" if recon.late_invoices else ""
    cards = [Card("reconciliation", f"{recon.mismatches:,} mismatches", f"of {recon.items_checked:,} items checked{late}",
                  "good" if recon.mismatches == 0 else "bad")]
    cards.append(Card("invoices posted", f"{invoices.count:,}",
                      f"{by_currency(invoices.total_by_currency)}; {invoices.disputed:,} disputed"))
    cards.append(Card("revenue leakage", by_currency(kpis.revenue_leakage), "work never billed, or billed short",
                      "bad" if any(kpis.revenue_leakage.values()) else "good"))
    cards.append(Card("over-billing", by_currency(kpis.over_billing), "billed beyond what the contract allows",
                      "bad" if any(kpis.over_billing.values()) else "good"))
    last = kpis.unbilled_wip[-1] if kpis.unbilled_wip else None
    cards.append(Card("unbilled WIP", by_currency(last.by_currency) if last else "n/a",
                      f"at {last.month_end}" if last else "no month end in the run"))
    cycle = invoices.cycle_time_hours
    cards.append(Card("invoice cycle time p50", f"{cycle.p50:,} h" if cycle.p50 is not None else "n/a",
                      f"p95 {cycle.p95:,} h, approval → invoice posted (n={cycle.count:,})" if cycle.count else ""))
    sync = kpis.sync_latency.get("psa_approval_to_erp_charge_minutes")
    cards.append(Card("sync latency p95", duration(sync.p95) if sync else "n/a",
                      f"approval → ERP charge; p50 {duration(sync.p50)} (n={sync.count:,})" if sync else ""))
    cards.append(Card("billing lag", f"{invoices.billing_lag.share:.1%}", "of invoice lines billed a period late"))
    dso = kpis.receivables.dso_days
    cards.append(Card("DSO", " · ".join(f"{c} {d:,} d" for c, d in dso.items()) or "n/a", "days sales outstanding"))
    calls = sum(system.calls for system in kpis.api_calls.values())
    limited = sum(system.rate_limited_429 for system in kpis.api_calls.values())
    failed = sum(system.errors_4xx + system.errors_5xx + system.no_response for system in kpis.api_calls.values())
    cards.append(Card("API calls by the connector", f"{calls:,}", f"{failed:,} failed, {limited:,} of them 429"))
    faults = files.run.faults
    top = ", ".join(f"{kind.replace('_', ' ')} {n:,}" for kind, n in sorted(faults.items(), key=lambda kv: -kv[1])[:3])
    cards.append(Card("faults injected", f"{sum(faults.values()):,}", top or "a calm run"))
    errors = kpis.connector_errors
    kinds = ", ".join(f"{e.kind.replace('_', ' ')} {e.count:,}" for e in files.run.connector_errors)
    cards.append(Card("connector errors", f"{errors:,}", kinds or "it never raised", "bad" if errors else "good"))
    stopped = digest.stopped_waiting
    if stopped is not None:
        when = dt.datetime.fromtimestamp(float(stopped["t"]), tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
        cards.append(Card("firm stopped waiting", when,
                          f"after holding {stopped['held_s']:,} wall s for the connector (budget {stopped['budget_s']:,} s):"
                          " its later work took simulated time, so lag after it overstates", "bad"))
    return cards


def _by_money(mismatch: MismatchRecord) -> tuple[Any, ...]:
    return -mismatch.money_at_stake, mismatch.rule, mismatch.item


def _value(value: Any, currency: str | None) -> str:
    if currency and isinstance(value, int) and not isinstance(value, bool):
        return money(value, currency)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 60 else text[:59] + "…"


def _row(rank: int, mismatch: MismatchRecord) -> MismatchRow:
    stake = money(mismatch.money_at_stake, mismatch.currency) if mismatch.currency else "—"
    return MismatchRow(rank, mismatch.rule, mismatch.item, _value(mismatch.expected, mismatch.currency),
                       _value(mismatch.actual, mismatch.currency), stake, mismatch.detail)


def _rule_totals(mismatches: list[MismatchRecord]) -> list[RuleTotal]:
    count: dict[str, int] = defaultdict(int)
    stake: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for mismatch in mismatches:
        count[mismatch.rule] += 1
        if mismatch.currency:
            stake[mismatch.rule][mismatch.currency] += mismatch.money_at_stake
    ranked = sorted(count, key=lambda rule: (-count[rule], rule))
    return [RuleTotal(rule, count[rule], by_currency(dict(sorted(stake[rule].items())))) for rule in ranked]


def _stake_by_rule(mismatches: list[MismatchRecord]) -> list[tuple[str, float]]:
    stake: dict[tuple[str, str], int] = defaultdict(int)
    for mismatch in mismatches:
        if mismatch.currency and mismatch.money_at_stake:
            stake[(mismatch.rule, mismatch.currency)] += mismatch.money_at_stake
    shown = [(f"{rule} · {currency}", major(v, currency)) for (rule, currency), v in stake.items()]
    return sorted(shown, key=lambda pair: (-pair[1], pair[0]))
