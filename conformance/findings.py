"""What a failed requirement reports: the offending items, expected against actual, and the money at stake.

A finding is one item in the ERP (a timesheet line's net charge, a
customer, a webhook the connector accepted) that breaks the requirement.
:class:`RequirementFailed` carries all of them with the seed and the
commands that reproduce the run, so the failure message alone is enough
to start debugging. Findings are ranked by money at stake, most first;
the connector's own faults (an exception, a receive() without a status)
lead, since everything else may follow from them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conformance.catalog import Requirement
from simulator.oracle import Mismatch
from simulator.report import money

SHOWN = 15
KEPT = 200  # findings per requirement in conformance-report.json


@dataclass(frozen=True)
class Finding:
    item: str
    expected: Any
    actual: Any
    currency: str | None = None
    money_at_stake: int = 0  # minor units of ``currency``
    detail: str = ""

    @classmethod
    def of(cls, mismatch: Mismatch, also: str = "") -> Finding:
        stake = mismatch.money_at_stake if mismatch.currency else 0  # a count off by one is not money
        note = f" ({also})" if also else ""
        return cls(mismatch.item, mismatch.expected, mismatch.actual, mismatch.currency, stake,
                   f"[{mismatch.rule}]{note} {mismatch.detail}".strip())

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "expected": self.expected, "actual": self.actual, "currency": self.currency,
                "money_at_stake": self.money_at_stake, "detail": self.detail}

    def __str__(self) -> str:
        unit = f" {self.currency}" if self.currency else ""
        stake = f" ({money(self.money_at_stake, self.currency)} at stake)" if self.money_at_stake else ""
        first, *rest = self.detail.splitlines() or [""]
        text = f"{self.item}: expected {self.expected}{unit}, got {self.actual}{stake} {first}".rstrip()
        return "\n".join([text, *(f"      {line}" for line in rest)])  # a traceback, indented under its finding


def at_stake(findings: Iterable[Finding]) -> dict[str, int]:
    totals: Counter = Counter()
    for finding in findings:
        if finding.currency and finding.money_at_stake:
            totals[finding.currency] += finding.money_at_stake
    return dict(sorted(totals.items()))


class RequirementFailed(AssertionError):
    def __init__(self, requirement: Requirement, findings: list[Finding], seed: int, reproduce: list[str],
                 summary: str = "", leading: Iterable[Finding] = ()) -> None:
        self.requirement = requirement
        # ``leading`` (the connector's own faults) first, then the most money; stable: the oracle's order otherwise
        self.findings = [*leading, *sorted(findings, key=lambda f: -f.money_at_stake)]
        self.seed = seed
        self.reproduce = reproduce
        self.summary = summary
        self.evidence: Any = None  # the check's Evidence, when a check (not the run) failed
        super().__init__(self.message())

    def money(self) -> dict[str, int]:
        return at_stake(self.findings)

    def message(self) -> str:
        r = self.requirement
        stake = ", ".join(money(v, c) for c, v in self.money().items()) or "no amount"
        evidence = f"{len(self.findings)} offending item(s); money at stake: {stake}" if self.findings else \
            "no items judged"
        lines = [f"{r.id} ({r.level}) {r.statement}", f"seed {self.seed}; {evidence}"]
        if self.summary:
            lines.append(self.summary)
        lines += [f"  {finding}" for finding in self.findings[:SHOWN]]
        if len(self.findings) > SHOWN:
            kept = "all of them" if len(self.findings) <= KEPT else f"the first {KEPT}"
            lines.append(f"  ... and {len(self.findings) - SHOWN} more ({kept} in conformance-report.json; "
                         "c2c simulate writes every mismatch of a run to mismatches.jsonl)")
        lines.append("reproduce with:")
        lines += [f"  {command}" for command in self.reproduce]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "money_at_stake": self.money(), "reproduce": self.reproduce,
                "findings": [f.to_json() for f in self.findings[:KEPT]], "findings_total": len(self.findings)}
