"""A failed requirement's findings: the connector's own faults first, then the most money, and how many more."""

from __future__ import annotations

from conformance.catalog import CATALOG
from conformance.findings import KEPT, SHOWN, Finding, RequirementFailed

REQUIREMENT = CATALOG[0]


def finding(item: str, stake: int, currency: str | None = "USD") -> Finding:
    return Finding(item, stake, 0, currency, stake, "[net_charge] detail")


def test_findings_are_ranked_by_money_and_the_connectors_faults_lead() -> None:
    fault = Finding("connector receive", "no exception", "KeyError",
                    detail="— connector raised KeyError in receive() 3 times; first at x.py:1 in receive: 'k'\n"
                           "Traceback (most recent call last):\nKeyError: 'k'")
    failed = RequirementFailed(REQUIREMENT, [finding("a", 5), finding("b", 500), finding("c", 50)], 1, ["cmd"],
                               leading=[fault])
    assert [f.item for f in failed.findings] == ["connector receive", "b", "c", "a"]
    message = failed.message()
    assert message.index("connector raised KeyError") < message.index("  b: expected 500 USD")
    assert "\n      Traceback (most recent call last):\n      KeyError: 'k'" in message, "indented under its finding"


def test_and_n_more_says_where_the_rest_are() -> None:
    many = RequirementFailed(REQUIREMENT, [finding(f"i{n:03}", n) for n in range(SHOWN + 5)], 1, ["cmd"])
    assert "  ... and 5 more (all of them in conformance-report.json; c2c simulate writes every mismatch " \
           "of a run to mismatches.jsonl)" in many.message()
    assert many.message().index("i019") < many.message().index("i018")
    too_many = RequirementFailed(REQUIREMENT, [finding(f"i{n:03}", n) for n in range(KEPT + 1)], 1, ["cmd"])
    assert f"(the first {KEPT} in conformance-report.json;" in too_many.message()
    assert len(too_many.to_json()["findings"]) == KEPT and too_many.to_json()["findings_total"] == KEPT + 1
