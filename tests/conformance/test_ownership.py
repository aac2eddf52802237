"""Every mismatch is some requirement's: nothing falls between the fault-free subtraction and the BILL checks.

Found: firm behaviour that stresses a connector without being a fault
(people correcting an account minutes after editing it) is in a fault
scenario's fault-free companion run too, so a connector that mishandles
it had the same mismatches in both runs, the fault requirement excused
them, and the billing scenario (no corrections) never saw them:
``caches_account_reads`` was certified. A mismatch the companion run also
has is now excused only when a requirement of the fault-free billing
scenario claims the same defect there.
"""

from __future__ import annotations

import json

import pytest

from tests.conformance.test_suite import outcome, run_suite

pytest_plugins = ["pytester"]


def owners_file(pytester: pytest.Pytester) -> list[dict]:
    return [json.loads(line) for line in (pytester.path / "report" / "mismatch-owners.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_defect_only_this_scenarios_people_bring_out_stays_with_its_requirement(pytester: pytest.Pytester) -> None:
    result, report = run_suite(pytester, "--connector", "tests.broken_connectors.caches_account_reads:build",
                               "-k", "ORDER-002")
    failure = outcome(report, "C2C-ORDER-002")["failure"]
    assert outcome(report, "C2C-ORDER-002")["outcome"] == "fail"
    assert "appear without its faults too" in failure["summary"]
    assert any("[customer_master_data] (also without this scenario's faults)" in f["detail"]
               for f in failure["findings"])
    rows = [r for r in owners_file(pytester) if r["scenario"] == "stale_versions.yaml"]
    assert rows and all(r["owners"] == ["C2C-ORDER-002"] for r in rows)


@pytest.mark.slow
def test_a_billing_defect_under_faults_is_owned_by_the_billing_requirement(pytester: pytest.Pytester) -> None:
    result, report = run_suite(pytester, "--connector", "tests.broken_connectors.wrong_rate:build",
                               "-k", "IDEMP-002 or C2C-BILL")
    assert outcome(report, "C2C-IDEMP-002")["outcome"] == "pass"
    assert outcome(report, "C2C-BILL-002")["outcome"] == "fail"
    rows = [r for r in owners_file(pytester) if r["scenario"] == "lost_responses.yaml"]
    assert rows and all(r["owners"] and set(r["owners"]) <= {"C2C-BILL-001", "C2C-BILL-002", "C2C-BILL-006"}
                        for r in rows)


@pytest.mark.thorough
@pytest.mark.parametrize("connector", ["wrong_rate", "caches_account_reads", "creates_per_delivery"])
def test_no_mismatch_of_a_failing_run_is_unowned(pytester: pytest.Pytester, connector: str) -> None:
    result, report = run_suite(pytester, "--connector", f"tests.broken_connectors.{connector}:build")
    ownership = report["mismatch_ownership"]
    assert ownership["mismatches"] > 0
    assert ownership["unowned"] == 0, ownership["unowned_examples"]
    assert {r["scenario"] for r in owners_file(pytester)}  # the file lists them, each with its owners
