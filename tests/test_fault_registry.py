"""Fault kinds are registered pieces: a request effect (``mocks.core.faults.EFFECTS``) or a timer
(``simulator.timed_faults.TIMERS``). The scenario schema reads the registry, and every registered kind is
exercised by some run, so a kind added without a scenario that fires it fails here."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mocks.core.faults import EFFECTS, RULE_KINDS, effect
from simulator.scenario import CONCURRENT_EDIT, HttpFaultRule
from simulator.timed_faults import TIMERS, timer
from tests.test_fault_storm import CATALOG as FIRED_IN_THE_STORM

# Kinds the fault storm does not script, and the run that fires them instead.
FIRED_ELSEWHERE = {
    "process_killed": "the kill points of conformance/scenarios/crashes.yaml (tests/conformance/test_kill_points.py)",
    "redeliver_all": "webhooks.redeliver_all_after_days in conformance/scenarios/replay_all.yaml",
}


def test_every_registered_kind_is_fired_by_a_run() -> None:
    registered = set(EFFECTS) | set(TIMERS)
    assert registered - set(FIRED_IN_THE_STORM) == set(FIRED_ELSEWHERE)


@pytest.mark.parametrize("kind", [*RULE_KINDS, CONCURRENT_EDIT])
def test_a_rule_may_name_every_registered_rule_kind(kind: str) -> None:
    assert HttpFaultRule(kind=kind, rate=0.1).kind == kind


@pytest.mark.parametrize("kind", ["outage", "process_killed", "gremlins"])
def test_a_rule_may_not_name_a_kind_that_is_not_a_rule(kind: str) -> None:
    with pytest.raises(ValidationError) as raised:
        HttpFaultRule(kind=kind, rate=0.1)
    assert raised.value.errors()[0]["loc"] == ("kind",)


def test_a_kind_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        effect("timeout")(lambda *args: None)
    with pytest.raises(ValueError, match="registered twice"):
        timer("connector_crash")(lambda run: iter(()))
