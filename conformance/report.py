"""The results bundle: ``conformance-report.json``, a Markdown summary, and (through pytest) JUnit XML.

The JSON is a public format (``schema_version``): it names the suite
version and the catalog hash it certified against, the connector's
identity (including a hash of its source), the seed, each requirement's
outcome with its failure evidence, and a verdict per profile. In process
it holds no wall-clock time, so the same connector, seed and profile give
the same bytes. A black-box connector is judged on the wall clock, so its
report also says how busy the machine was during the served runs
(:mod:`conformance.machine_load`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance import SUITE_VERSION
from conformance.catalog import CATALOG
from conformance.catalog_hash import catalog_hash
from conformance.certification import Certification
from conformance.findings import KEPT
from conformance.machine_load import machine_words
from conformance.verdict import NOT_RUN, Profile, in_profile, verdict
from simulator.report import money

# 2: mismatch_ownership (and mismatch-owners.jsonl beside the report); 3: machine (black-box); 4: a passed
# requirement's measured
SCHEMA_VERSION = 4
JSON_NAME, MARKDOWN_NAME, JUNIT_NAME = "conformance-report.json", "conformance-summary.md", "junit.xml"
OWNERS_NAME = "mismatch-owners.jsonl"  # every mismatch of every judged run, with the requirements that own it
SHOWN_IN_SUMMARY = 10


def build_report(certification: Certification) -> dict[str, Any]:
    outcomes = certification.outcomes
    requirements = []
    for requirement in CATALOG:
        entry = {**requirement.to_json(), "outcome": str(outcomes[requirement.id]) if requirement.id in outcomes
                 else "not-run", "run_in_profile": in_profile(requirement, certification.profile)}
        if requirement.id in certification.reasons and requirement.id not in certification.failures:
            entry["reason"] = certification.reasons[requirement.id]
        if requirement.id in certification.failures:
            entry["failure"] = certification.failures[requirement.id]
        elif requirement.id in certification.measured:
            entry["measured"] = certification.measured[requirement.id]
        requirements.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "suite_version": SUITE_VERSION,
        "catalog_hash": catalog_hash(),
        "connector": certification.subject.to_json(),
        "seeds": [certification.seed],
        "profile": str(certification.profile),
        "load": ({"rate_per_s": certification.load_target.rate_per_s, "duration_s": certification.load_target.duration_s,
                  "p95_s": certification.load_target.p95_s} if certification.subject.black_box else None),
        "machine": (certification.observations.machine_load.to_json()
                    if certification.observations.machine_load is not None else None),
        "verdicts": {str(p): verdict(outcomes, p, ran=certification.profile).to_json() for p in Profile},
        "requirements": requirements,
    }


def verdict_words(result: dict[str, Any]) -> tuple[str, str]:
    """("CERTIFIED", ""), ("NOT CERTIFIED", " (2 failed, 1 skipped)") or, for a profile the session did not run,
    ("not run", " (core profile; 2 requirements are only in full)")."""
    if result.get("status") == NOT_RUN:
        return "not run", f" ({result['reason']})"
    blockers = [f"{len(result[k])} {k.replace('_', ' ')}" for k in ("failed", "skipped", "not_run") if result[k]]
    return ("CERTIFIED" if result["certified"] else "NOT CERTIFIED"), (f" ({', '.join(blockers)})" if blockers else "")


def markdown(report: dict[str, Any]) -> str:
    connector = report["connector"]
    lines = [f"# c2c conformance: {connector['name']}", "",
             f"- connector: `{connector['spec']}` {connector['version']} (source sha256 "
             f"`{connector['source_sha256'][:12]}`)",
             f"- suite {report['suite_version']}, catalog `{report['catalog_hash'][:19]}`, "
             f"profile run: **{report['profile']}**, seed {', '.join(map(str, report['seeds']))}"]
    if report.get("load"):
        lines.append(f"- load requirements judged at **{report['load']['rate_per_s']:g} approvals/s** for "
                     f"{report['load']['duration_s']:g} s (C2C-LOAD-002)")
    if report.get("machine"):
        lines.append(f"- {machine_words(report['machine'])}")
    lines.append("")
    for profile, result in report["verdicts"].items():
        word, blockers = verdict_words(result)
        lines.append(f"- **{profile}: {word}**{blockers}")
    lines += ["", "| requirement | level | outcome | statement |", "|---|---|---|---|"]
    for r in report["requirements"]:
        lines.append(f"| {r['id']} | {r['level']} | {r['outcome']} | {r['statement']} |")
    measured = [r for r in report["requirements"] if r.get("measured")]
    if measured:
        lines += ["", "## Measured on passing requirements", ""]
        lines += [f"- {r['id']}: {r['measured']}" for r in measured]
    failed = [r for r in report["requirements"] if "failure" in r]
    if failed:
        lines += ["", "## Failures", ""]
    for r in failed:
        failure = r["failure"]
        stake = ", ".join(money(v, c) for c, v in failure["money_at_stake"].items()) or "no amount"
        lines += [f"### {r['id']}: {r['statement']}", "",
                  f"{failure['findings_total']} offending item(s), money at stake: {stake}. {failure['summary']}", ""]
        for f in failure["findings"][:SHOWN_IN_SUMMARY]:  # ranked: the connector's own faults, then the most money
            first, *rest = f["detail"].splitlines() or [""]
            lines.append(f"- `{f['item']}`: expected {f['expected']}, got {f['actual']} {first}".rstrip())
            if rest:  # a traceback
                lines += ["", "  ```", *(f"  {line}" for line in rest), "  ```"]
        if failure["findings_total"] > SHOWN_IN_SUMMARY:
            lines.append(f"- … and {failure['findings_total'] - SHOWN_IN_SUMMARY} more (in {JSON_NAME}, up to "
                         f"{KEPT}; the `c2c simulate` command below writes every mismatch to mismatches.jsonl)")
        lines += ["", "Reproduce:", "", "```", *failure["reproduce"], "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def ownership_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    unowned = [row for row in rows if not row["owners"]]
    return {"mismatches": len(rows), "unowned": len(unowned), "file": OWNERS_NAME,
            "unowned_examples": unowned[:SHOWN_IN_SUMMARY]}


def write_report(certification: Certification, directory: Path) -> dict[str, Any]:
    report = build_report(certification)
    rows = certification.mismatch_owners()
    report["mismatch_ownership"] = ownership_summary(rows)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / OWNERS_NAME).write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    (directory / JSON_NAME).write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    (directory / MARKDOWN_NAME).write_text(markdown(report))
    return report
