"""How the checks turn runs into evidence: mismatches a fault caused, lags, and whether a case was shown at all.

A check passes only on evidence: a requirement whose faults never fired,
or whose case never happened in the run (no capped contract, no lost
webhook), is reported as *not shown*, which fails it. A suite that passes
a connector for want of trying certifies nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.findings import Finding
from conformance.observation import Observation, new_mismatches, relative, simulate_command
from conformance.schedules import Counterexample
from simulator.kpis import epoch_seconds, first_charge_by_approval
from simulator.oracle import Mismatch


@dataclass
class Evidence:
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    reproduce: list[str] = field(default_factory=list)  # beyond the standard pytest and simulate commands


def not_shown(what: str, detail: str) -> Finding:
    return Finding("scenario", what, "none", detail=f"{detail}: the requirement was not exercised, so nothing is shown")


def unless_shown(shown: bool, what: str, detail: str, evidence: Evidence) -> Evidence:
    """``evidence``, with a not-shown finding added when the run did not exercise the requirement."""
    if not shown:
        evidence.findings.append(not_shown(what, detail))
    return evidence


def oracle_findings(observation: Observation, rules: Iterable[str] | None = None,
                    where: Callable[[Mismatch], bool] = lambda m: True) -> Evidence:
    wanted = None if rules is None else frozenset(rules)
    found = [m for m in observation.result.reconciliation.mismatches
             if (wanted is None or m.rule in wanted) and where(m)]
    return Evidence([Finding.of(m) for m in found],
                    f"{len(found)} reconciliation mismatch(es) in {observation.scenario_path.name}" if found else "")


INVOICING_RULES = frozenset({"not_invoiced"})  # when charges reach invoices: C2C-BILL-009, on a day without faults


def caused_by_faults(faulty: Observation, calm: Observation) -> Evidence:
    """The mismatches the scenario's faults caused: those the same connector does not have on a good day.

    A fault requirement asks "does the connector survive this fault?", not
    "does it bill correctly?" (the BILL family asks that), so a mismatch the
    connector also has without any fault is not held against it here. Work
    invoiced a run late is not a mismatch of the end state (the oracle
    reports it apart) and is judged on a day without faults by C2C-BILL-009:
    a connector that is down across a month end cannot bill on time, but it
    must still bill everything by the end.
    """
    new = [m for m in new_mismatches(faulty, calm) if m.rule not in INVOICING_RULES]
    faults = ", ".join(f"{kind} ×{n}" for kind, n in sorted(faulty.result.fault_counts.items())) or "none fired"
    summary = (f"{len(new)} of {len(faulty.result.reconciliation.mismatches)} reconciliation mismatches appear only "
               f"under this scenario's faults ({faults})") if new else ""
    return Evidence([Finding.of(m) for m in new], summary)


def counterexample(found: Counterexample, seed: int, connector: str, requirement_id: str, what: str,
                   folder: Any) -> Evidence:
    """A shrunk schedule as evidence: its mismatches, and a scenario file next to the report that replays it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{requirement_id}-seed{seed}.yaml"
    text = found.scenario_text(folder, name=f"{requirement_id.lower()}-counterexample")
    path.write_text(f"# {requirement_id}: {what}, shrunk by hypothesis after {found.examples_run} runs.\n" + text)
    schedule = "\n".join(f"    {line}" for line in text.splitlines() if not line.startswith(("extends", "name",
                                                                                                 "description")))
    summary = (f"hypothesis found a schedule of {found.size} fault(s) that breaks it; the minimal one, in "
               f"{relative(path)}:\n{schedule}")
    return Evidence([Finding.of(m) for m in found.mismatches], summary, [simulate_command(path, seed, connector)])


# -- time from a source change to the ERP ----------------------------------------------------


def minutes_between(start: str, end: str | None) -> float:
    """Simulated minutes from ``start`` to ``end``; infinite when ``end`` never happened."""
    return (epoch_seconds(end) - epoch_seconds(start)) / 60 if end else float("inf")


def lag_words(minutes: float) -> str:
    """A lag as a finding reads it: "95 min", or (infinite) "never reached the ERP", never "inf min"."""
    return "never reached the ERP" if minutes == float("inf") else f"{minutes:.0f} min"


def first_charges(observation: Observation) -> dict[str, str]:
    """Approval id -> when the ERP got the first charge citing it (the sync-latency KPI's reading)."""
    return first_charge_by_approval(observation.result.systems.erp)


def billable_approvals(observation: Observation) -> Iterable[dict]:
    """Timesheet approvals of a version with billable hours: each should reach the ERP as charges."""
    psa = observation.result.systems.psa
    for approval in psa.approvals:
        if approval["kind"] != "timesheet":
            continue
        sheet = psa.timesheets[approval["entity_id"]]
        if sheet.version == approval["version"] and sheet.status == "approved" \
                and any(line.billable and line.hours > 0 for line in sheet.lines):
            yield approval
