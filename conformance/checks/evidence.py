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
from conformance.ownership import INVOICING_RULES, defect_of
from conformance.schedules import Counterexample
from conformance.subject import Subject
from simulator import approval_lag
from simulator.kpis import epoch_seconds, first_charge_by_approval
from simulator.oracle import Mismatch


@dataclass
class Evidence:
    """What a check found. ``reproduce`` lists commands beyond the standard pytest and simulate ones.

    ``summary`` says what the check measured (a lag's p95 against its bound, the
    worst late approval): a failure leads with it, and a pass keeps it in the
    report (``measured``), so a margin that shrinks shows before it is gone.

    ``scenario_passed`` says the findings come from runs of the check's own
    (a schedule hypothesis shrank, written out as a scenario), not from the
    requirement's scenario, which passed: then ``reproduce`` holds what
    reproduces the failure, and it is listed first.
    """

    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    reproduce: list[str] = field(default_factory=list)
    scenario_passed: bool = False
    claimed: list[Mismatch] = field(default_factory=list)  # the run's mismatches held against the connector here
    owned_elsewhere: list[tuple[Mismatch, list[str]]] = field(default_factory=list)  # excused here, owned there


def combined(first: Evidence, then: Evidence) -> Evidence:
    """Both checks' evidence as one: findings, summaries, commands and who owns which mismatch."""
    return Evidence(first.findings + then.findings, "; ".join(filter(None, [first.summary, then.summary])),
                    first.reproduce + then.reproduce, first.scenario_passed or then.scenario_passed,
                    first.claimed + then.claimed, first.owned_elsewhere + then.owned_elsewhere)


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
                    f"{len(found)} reconciliation mismatch(es) in {observation.scenario_path.name}" if found else "",
                    claimed=found)




CalmDayDefects = Callable[[], dict[tuple[str, str], list[str]]]


def caused_by_faults(faulty: Observation, calm: Callable[[], Observation],
                     calm_day_defects: CalmDayDefects = dict) -> Evidence:
    """The mismatches the scenario's faults caused, and those no requirement judged without faults owns.

    ``calm`` makes the same scenario's fault-free run; it is asked for only
    when ``faulty`` has a mismatch (a clean run under faults needs no
    comparison), so a connector that survives the faults is not run twice.

    A fault requirement asks "does the connector survive this fault?", not
    "does it bill correctly?" (the BILL family asks that). A mismatch the
    connector also has without any fault (matched by business key) is
    excused here only when a requirement judged on a fault-free scenario
    claims the same defect (``calm_day_defects``: (rule, kind of item) ->
    the requirements that claim it); otherwise it stays here, marked as
    present without the faults too, so that no mismatch is nobody's (see
    :mod:`conformance.ownership`). Work invoiced a run late is not a
    mismatch of the end state (the oracle reports it apart) and is judged
    on a day without faults by C2C-BILL-009: a connector that is down
    across a month end cannot bill on time, but it must still bill
    everything by the end.
    """
    if not faulty.result.reconciliation.mismatches:
        return Evidence()
    new = new_mismatches(faulty, calm())
    fresh = {id(m) for m in new}
    claimed = [m for m in new if m.rule not in INVOICING_RULES]
    owned_elsewhere: list[tuple[Mismatch, list[str]]] = []
    calm_day: list[Mismatch] = []
    for mismatch in faulty.result.reconciliation.mismatches:
        if id(mismatch) in fresh or mismatch.rule in INVOICING_RULES:
            continue
        owners = calm_day_defects().get(defect_of(mismatch))
        if owners:
            owned_elsewhere.append((mismatch, owners))
        else:
            calm_day.append(mismatch)
    faults = ", ".join(f"{kind} ×{n}" for kind, n in sorted(faulty.result.fault_counts.items())) or "none fired"
    total = len(faulty.result.reconciliation.mismatches)
    parts = [f"{len(claimed)} of {total} reconciliation mismatches appear only under this scenario's faults "
             f"({faults})"] if claimed else []
    if calm_day:
        parts.append(f"{len(calm_day)} appear without its faults too, and no requirement judged without faults "
                     "claims that defect")
    findings = [Finding.of(m) for m in claimed]
    findings += [Finding.of(m, also="also without this scenario's faults") for m in calm_day]
    return Evidence(findings, "; ".join(parts), claimed=claimed + calm_day, owned_elsewhere=owned_elsewhere)


def black_box_only(evidence: Evidence, search: str) -> Evidence:
    """The scenario's evidence alone, saying which search a black-box connector is not put through.

    Hypothesis's searches run the small firm hundreds of times and shrink by
    re-running it, which needs the deterministic in-process run; a process
    on the wall clock gives neither the speed nor the same interleaving
    twice. The scenario itself was run against the process, faults and all.
    """
    note = f"{search} needs in-process runs and was not made for this black-box connector"
    evidence.summary = "; ".join(filter(None, [evidence.summary, note]))
    return evidence


def counterexample(found: Counterexample, seed: int, connector: Subject, requirement_id: str, what: str,
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
    return Evidence([Finding.of(m) for m in found.mismatches], summary, [simulate_command(path, seed, connector)],
                    scenario_passed=True)


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
    return approval_lag.billable_approvals(observation.result.systems)
