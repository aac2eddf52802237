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


def test_connector_faults_are_merged_over_the_runs_a_requirement_read() -> None:
    from types import SimpleNamespace

    from conformance.certification import _split, _with_faults, connector_findings
    from simulator.host import ConnectorFault, FaultKind

    def run(*faults: ConnectorFault) -> SimpleNamespace:
        return SimpleNamespace(result=SimpleNamespace(connector_faults=faults))

    def fault(kind: FaultKind, count: int, error: str = "KeyError") -> ConnectorFault:
        made = ConnectorFault(kind, error, "'k'", "c.py:3 in receive", "2026-01-01T00:00:01Z",
                              "Traceback (most recent call last):\nKeyError: 'k'", count)
        made.by_error[error] = count
        return made

    callbacks = connector_findings([run(fault(FaultKind.SCHEDULED_CALLBACK, 2, "ReadTimeout"))])
    assert _split(callbacks) == ([], callbacks)
    assert _with_faults("12 mismatches", *_split(callbacks)) == \
        "12 mismatches\nthe connector also raised ReadTimeout in a scheduled callback 2 times; first at c.py:3 in " \
        "receive (2026-01-01T00:00:01Z): 'k'"
    found = connector_findings([run(fault(FaultKind.RECEIVE, 3)), run(fault(FaultKind.RECEIVE, 4, "ValueError"))])
    (only,) = found
    assert (only.item, only.expected, only.actual) == ("connector receive", "no exception", "KeyError")
    assert "connector raised KeyError (also ValueError ×4) in receive() 7 times" in only.detail
    assert only.detail.endswith("Traceback (most recent call last):\nKeyError: 'k'")
    assert _split(found + callbacks) == (found, callbacks)
    assert _with_faults("", found, []).startswith("the connector failed in its own code")


def test_a_receive_without_a_status_reads_as_what_it_returned() -> None:
    from types import SimpleNamespace

    from conformance.certification import connector_findings
    from simulator.host import ConnectorFault, FaultKind

    fault = ConnectorFault(FaultKind.BAD_RETURN, "returned None", "None", "c.py:3 in C.receive", "2026-01-01T00:00:01Z",
                           count=5)
    (found,) = connector_findings([SimpleNamespace(result=SimpleNamespace(connector_faults=(fault,)))])
    assert str(found).startswith("connector bad_return: expected an HTTP status, got None — connector's receive() "
                                 "returned None instead of an HTTP status")
