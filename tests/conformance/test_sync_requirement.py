"""C2C-SYNC-001 on runs where nothing reached the connector: not shown, never a pass for want of trying."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from conformance.checks.sync import FAULT_FREE, in_line_within_the_hour
from conformance.observation import Observation
from simulator.sync_lag import SyncRecords


def quiet_run(name: str) -> Observation:
    systems = SimpleNamespace(erp=SimpleNamespace(billing_projects={}, charges={}), psa=SimpleNamespace(projects={}))
    return Observation(Path(name), 1, SimpleNamespace(sync=SyncRecords(), systems=systems))


def test_no_source_change_is_not_shown_in_either_scenario() -> None:
    runs = SimpleNamespace(of=quiet_run)
    ctx = SimpleNamespace(observations=runs, seed=1, subject=SimpleNamespace(spec="acme:build"))
    evidence = in_line_within_the_hour(ctx)
    assert [f.item for f in evidence.findings] == ["scenario", "scenario"]
    assert FAULT_FREE in evidence.findings[0].detail and "nothing is shown" in evidence.findings[0].detail
    assert "crashes.yaml" in evidence.findings[1].detail and not evidence.summary
