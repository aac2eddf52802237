"""When a served firm stops waiting for its black-box connector, the trace says when, and so does a failure.

A certification's served run waits for the connector before each step
(:mod:`simulator.quiescence`), at most 600 wall seconds in all. Once the
holds use that up, the firm runs on at full speed, where each wall
millisecond of the connector's work is simulated minutes: lag measured
after that point overstates what the connector would show in process. The
served run traces that moment (``firm_stopped_waiting``), the observation
keeps it, and a failed requirement that read the run says so beside its
findings, so a vendor does not chase a lag the harness made.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.certification import stopped_waiting_caveat
from conformance.observation import Observation, observe_with
from simulator.run import SimulationResult
from simulator.scenario import Scenario, load_scenario
from simulator.served import CERTIFICATION_DELAY_S, serve
from tests.conftest import ROOT

SMALL = ROOT / "conformance" / "scenarios" / "small_firm.yaml"
REFERENCE = f"{sys.executable} -m reference_impl"


def stopped(t: float, budget_s: float = 600.0) -> dict[str, Any]:
    return {"seq": 9, "t": t, "kind": "firm_stopped_waiting", "held_s": budget_s + 0.4, "budget_s": budget_s}


def test_a_failure_says_in_which_run_and_when_the_firm_stopped_waiting() -> None:
    calm = Observation(Path("billing.yaml"), 1, None, [])  # no result: the caveat reads the records only
    late = Observation(Path("load.yaml"), 1, None, [{"kind": "fault", "fault": "latency"}, stopped(1_769_788_800.0)])
    assert stopped_waiting_caveat([calm]) == ""
    assert calm.stopped_waiting() is None and late.stopped_waiting()["budget_s"] == 600.0
    caveat = stopped_waiting_caveat([calm, late])
    assert caveat.startswith("in load.yaml, the firm stopped waiting for the connector at 2026-01-30T16:00:00Z "
                             "(its holds used up the run's 600 wall s)")
    assert "overstates" in caveat and "billing.yaml" not in caveat


@pytest.mark.slow  # a connector started as a process for a served run
def test_a_served_run_whose_holds_use_up_its_budget_traces_when(tmp_path: Path) -> None:
    """The reference as a process, on the small firm, with a budget of 50 wall ms: the firm waits for it a few
    steps, then stops, once, and the observation of the run carries the moment."""

    def run(scenario: Scenario, path: Path, seed: int, sink) -> SimulationResult:
        return serve(scenario, seed, 864_000, lambda server, systems: None, connector_cmd=REFERENCE,
                     work_dir=tmp_path / "work", longest_delay_s=CERTIFICATION_DELAY_S, hold_budget_s=0.05, sink=sink)

    observation = observe_with(load_scenario(SMALL), SMALL, 1, run)
    records = [r for r in observation.records if r["kind"] == "firm_stopped_waiting"]
    assert len(records) == 1, records
    (record,) = records
    assert record["budget_s"] == 0.05 and record["held_s"] >= 0.05
    assert observation.stopped_waiting() is record
    assert stopped_waiting_caveat([observation]).startswith("in small_firm.yaml, the firm stopped waiting for the "
                                                            "connector at 2026-01-")  # the small firm's month
