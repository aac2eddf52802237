"""Human-readable KPI tables for the terminal (rich)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from simulator.scenario import CURRENCY_MINOR_UNITS


def money(minor: int, currency: str) -> str:
    places = CURRENCY_MINOR_UNITS.get(currency, 2)
    value = minor / 10**places
    return f"{currency} {value:,.{places}f}"


def _by_currency(amounts: dict[str, int]) -> str:
    return ", ".join(money(v, c) for c, v in amounts.items()) or "none"


def _pct(stats: dict[str, Any], unit: str) -> str:
    if not stats.get("count"):
        return "n/a"
    return f"p50 {stats['p50']:,} {unit} · p95 {stats['p95']:,} {unit} (n={stats['count']})"


def kpi_table(kpis: dict[str, Any]) -> Table:
    table = Table(title=escape(f"c2c · {kpis['scenario']} · seed {kpis['seed']}"), show_header=True,
                  header_style="bold")
    table.add_column("KPI")
    table.add_column("value", overflow="fold")
    invoices = kpis["invoices"]
    table.add_row("invoices posted", f"{invoices['count']:,} ({_by_currency(invoices['total_by_currency'])})")
    table.add_row("disputed invoices", f"{invoices['disputed']:,}")
    table.add_row("invoice cycle time (approval → posted)", _pct(invoices["cycle_time_hours"], "h"))
    lag = invoices["billing_lag"]
    table.add_row("billing lag", f"{lag['lines_invoiced_in_a_later_period']:,} lines invoiced a period late "
                                 f"({lag['share']:.1%})")
    for snapshot in kpis["unbilled_wip"]:
        held = snapshot.get("held_over_cap") or {}
        extra = f" (+ {_by_currency(held)} held over caps)" if any(held.values()) else ""
        table.add_row(f"unbilled WIP at {snapshot['month_end']}", _by_currency(snapshot["by_currency"]) + extra)
    table.add_row("project setup time (signed → PSA project)", _pct(kpis["projects"]["project_setup_minutes"], "min"))
    receivables = kpis["receivables"]
    dso = receivables["dso_days"]
    table.add_row("DSO (at period end)", " · ".join(f"{c} {d:,} days" for c, d in dso.items()) or "n/a")
    contracts = kpis["contracts"]
    signed = contracts["signed_by_billing_type"]
    table.add_row("contracts signed", " · ".join(f"{k.replace('_', ' ')} {v}" for k, v in signed.items()) or "none")
    table.add_row("amendments", f"{contracts['amendments']:,} ({contracts['retro_amendments']:,} retroactive)")
    ledger = kpis["ledger"]
    table.add_row("cap holds / releases", f"{ledger['cap_holds']:,} / {ledger['cap_releases']:,}")
    table.add_row("adjustments after invoicing", f"{ledger['post_invoice_adjustments']:,}")
    credit_notes = kpis["invoices"]["credit_notes"]["count"]
    if credit_notes or ledger["write_offs"]:  # only firms whose clients query their final invoices have them
        table.add_row("credit notes / write-offs",
                      f"{credit_notes:,} / {ledger['write_offs']:,} ({ledger['hours_written_off']:,g} h written off)")
    latency = kpis["sync_latency"]["psa_approval_to_erp_charge_minutes"]
    table.add_row("sync latency (approval → ERP charge)", _pct(latency, "min"))
    table.add_row("revenue leakage", _by_currency(kpis["revenue_leakage"]))
    table.add_row("over-billing", _by_currency(kpis["over_billing"]))
    calls = kpis["api_calls"]
    table.add_row("API calls by the connector",
                  " · ".join(f"{s.upper()} {v['calls']:,}" for s, v in calls.items()))
    errors = kpis.get("connector_errors", 0)
    by_kind = " · ".join(f"{kind.replace('_', ' ')} {n:,}" for kind, n in kpis.get("connector_errors_by_kind", {}).items())
    table.add_row("connector errors",
                  f"[bold red]{errors:,}[/] ({escape(by_kind)})" if errors else "[green]none[/]")
    recon = kpis["reconciliation"]
    style = "green" if recon["mismatches"] == 0 else "bold red"
    table.add_row("reconciliation",
                  f"[{style}]{recon['mismatches']:,} mismatches[/] of {recon['items_checked']:,} items checked")
    return table


def mismatch_lines(kpis: dict[str, Any], limit: int = 10, full_list: str = "mismatches.jsonl") -> list[str]:
    """The mismatches with the most money at stake (the examples are ranked so), then how many more and where."""
    recon = kpis["reconciliation"]
    lines = []
    for m in recon["examples"][:limit]:
        currency = f" {m['currency']}" if m["currency"] else ""
        stake = abs(m["expected"] - m["actual"]) if all(type(m[k]) is int for k in ("expected", "actual")) else 0
        at_stake = f" ({money(stake, m['currency'])} at stake)" if stake and m["currency"] else ""
        lines.append(f"[{m['rule']}] {m['item']}: expected {m['expected']}{currency}, ERP has {m['actual']}"
                     f"{at_stake}{' — ' + m['detail'] if m['detail'] else ''}")
    more = recon["mismatches"] - len(lines)
    if more > 0:
        lines.append(f"… and {more:,} more (full list: {full_list})")
    return lines


def connector_fault_lines(faults: list[Any]) -> list[str]:
    """Each kind of connector fault once: its headline, then the first one's traceback, indented."""
    lines = []
    for fault in faults:
        lines.append(fault.headline())
        lines += [f"    {line}" for line in fault.traceback.splitlines()]
    return lines
