"""A black-box verdict is judged on the wall clock: its report says how busy the machine was.

The peak 1-minute load average read after each served run is kept; over 2
runnable processes per core the machine was busy, and the summary warns
that a failed timeliness or load requirement may be the machine's doing.
In process nothing is read from the machine, so the report stays the same
bytes for the same connector, seed and profile.
"""

from __future__ import annotations

from itertools import chain, repeat

from conformance.machine_load import MachineLoad, machine_words
from conformance.observation import Observations
from conformance.report import markdown
from conformance.subject import Subject


def test_the_peak_of_the_samples_is_kept() -> None:
    readings = iter([0.7, 3.2, 1.1])
    load = MachineLoad(cores=2, read=lambda: next(readings))
    assert load.to_json() == {"cores": 2, "load_average_peak": None, "busy": False}
    for _ in range(3):
        load.sample()
    assert load.to_json() == {"cores": 2, "load_average_peak": 3.2, "busy": False}


def test_over_two_runnable_processes_per_core_the_machine_was_busy() -> None:
    readings = chain([4.0], repeat(4.01))
    load = MachineLoad(cores=2, read=lambda: next(readings))
    load.sample()
    assert not load.busy  # 2 per core: at the line, not over it
    load.sample()
    assert load.busy


def test_the_summary_says_the_load_and_warns_only_when_busy() -> None:
    calm = machine_words({"cores": 2, "load_average_peak": 1.46, "busy": False})
    assert calm == "machine: 2 cores, 1-minute load average up to 1.5 during the served runs"
    busy = machine_words({"cores": 2, "load_average_peak": 11.6, "busy": True})
    assert busy.startswith("machine: 2 cores, 1-minute load average up to 11.6 during the served runs: **busy**")
    assert "certify again with the machine to itself" in busy
    assert machine_words({"cores": 2, "load_average_peak": None, "busy": False}).endswith("(no served run was made)")


def _subject(command: str | None) -> Subject:
    return Subject(spec=command or "reference_impl.connector:build", factory=None if command else object,
                   name="x", version="1", source_sha256="0" * 64, capabilities=frozenset(), command=command)


def test_only_a_black_box_session_reads_the_machine(tmp_path) -> None:
    assert Observations(_subject(None), 1, tmp_path).machine_load is None
    assert Observations(_subject("python -m reference_impl"), 1, tmp_path).machine_load is not None


def test_the_markdown_summary_carries_the_machine_line() -> None:
    report = {"connector": {"name": "n", "spec": "cmd", "version": "1", "source_sha256": "0" * 64},
              "suite_version": "1", "catalog_hash": "sha256:" + "0" * 64, "profile": "core", "seeds": [1],
              "load": None, "machine": {"cores": 2, "load_average_peak": 9.0, "busy": True}, "verdicts": {},
              "requirements": []}
    assert "- machine: 2 cores, 1-minute load average up to 9.0 during the served runs: **busy**" in markdown(report)
    assert "machine:" not in markdown({**report, "machine": None})
