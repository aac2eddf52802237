"""What a run keeps in memory follows the state the systems must hold, not the trace.

- ``events.jsonl`` is written while the run goes: half-way through, the
  file on disk already holds about half the records (a sink that kept them
  for the end would leave it empty), and at the end one line per record;
- the garbage collector's freeze (:mod:`simulator.heap`) holds during the
  run and is undone when it ends, also when it ends in an error;
- the systems keep one object per repeated string: every event of a type
  shares its type, and charges share what their lineage repeats.

The ``Idempotency-Key`` store's forgetting is tested with the store
(``tests/mocks/test_idempotency.py``).
"""

from __future__ import annotations

import gc
import io
import json
from pathlib import Path

import pytest

from simulator.output import JsonLinesSink
from simulator.run import simulate
from simulator.scenario import load_scenario
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def one_month(tmp_path_factory: pytest.TempPathFactory):
    """The baseline firm for one month: every kind of record, in well under a second."""
    path = tmp_path_factory.mktemp("scenario") / "one_month.yaml"
    path.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: one_month\nmonths: 1\n")
    return load_scenario(path)


def test_the_trace_reaches_the_file_while_the_run_goes(one_month, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    on_disk: list[tuple[float, int]] = []
    with events.open("w") as stream:
        result = simulate(one_month, 1, sink=JsonLinesSink(stream),
                          progress=lambda done: on_disk.append((done, events.stat().st_size)))
    lines = events.read_bytes().splitlines()
    assert len(lines) == sum(result.trace_counts.values()) > 1000
    assert [json.loads(line)["seq"] for line in lines[:3]] == [1, 2, 3]
    half = next(size for done, size in on_disk if done >= 0.5)
    assert 0.2 * len(events.read_bytes()) < half < 0.8 * len(events.read_bytes()), on_disk
    assert [size for _, size in on_disk] == sorted(size for _, size in on_disk)


def test_a_trace_line_is_what_json_dumps_writes() -> None:
    records = [{"seq": 1, "t": 0.1, "kind": "event", "system": "psa", "type": "psa.timesheet.approved",
                "entity": "tms_000001", "version": 2},
               {"seq": 2, "t": 1e-07, "kind": "connector_log", "message": 'caf\u00e9 "quoted" \\ \n\t \u2603',
                "n": 10**20, "ok": True, "none": None, "nested": {"a": [1, 2.5, {"b": "c"}]}, "nan": float("nan")}]
    stream = io.StringIO()
    sink = JsonLinesSink(stream)
    for record in records:
        sink(record)
    assert stream.getvalue() == "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)


def test_the_heap_is_frozen_during_the_run_and_thawed_after(one_month) -> None:
    frozen: list[int] = []
    simulate(one_month, 1, progress=lambda done: frozen.append(gc.get_freeze_count()))
    assert min(frozen) > 10_000, "what lived through a day is frozen out of the collector's way"
    assert gc.get_freeze_count() == 0


def test_the_heap_is_thawed_when_the_run_fails(one_month) -> None:
    def interrupted(done: float) -> None:
        if done > 0.3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(one_month, 1, progress=interrupted)
    assert gc.get_freeze_count() == 0


def test_repeated_strings_are_kept_once(simulation, baseline) -> None:
    systems = simulation(baseline, 1).systems
    events, _ = systems.psa.feed.read(None, 10_000)
    approved = [e for e in events if e.type == "psa.timesheet.approved"]
    assert len(approved) > 10 and len({id(e.type) for e in approved}) == 1
    charges = [c for c in systems.erp.charges.values() if c.lineage.get("source_type") == "timesheet_line"]
    assert len(charges) > 100
    for field in ("source_system", "source_type", "written_by"):
        assert len({id(c.lineage[field]) for c in charges}) == 1, field
    assert len({id(key) for c in charges for key in c.lineage}) == len({key for c in charges for key in c.lineage})
    assert len({id(c.charge_date) for c in charges}) == len({c.charge_date for c in charges})
