"""``c2c sweep``: resuming from finished runs, failures, options; and (slow) real runs giving byte-identical results
on one worker, two workers and a Dask cluster.

The fast tests stand a recording fake in for :func:`simulator.run.simulate` (``--jobs 1`` runs in this process),
so they show which runs the command does and does not do; the slow ones run the simulation for real.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.kpis import SCHEMA_VERSION as KPI_SCHEMA_VERSION
from simulator.sweep_file import load_sweep
from tests.conftest import ROOT
from tests.test_compare import kpis

SMALL = ROOT / "tests" / "scenarios" / "small.yaml"
RESULTS = ("runs.csv", "points.csv", "sweep.json")


def sweep_file(directory: Path, seeds: str = "[1, 2]", grid: str = "people.approval_delay_hours: [[2, 24], [48, 96]]",
               scenario: Path = SMALL) -> Path:
    path = directory / "sweep.yaml"
    path.write_text(f"name: tiny\nscenario: {scenario}\nseeds: {seeds}\ngrid:\n  {grid}\n  months: [1]\n")
    return path


def sweep(*args: str) -> Any:
    return CliRunner().invoke(main, ["sweep", *args])


def results(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in RESULTS}


class FakeSimulate:
    """Stands in for simulator.run.simulate: records each (approval delay, seed) it is asked to run."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.calls: list[tuple[tuple[float, float], int]] = []
        self.fail_on = fail_on or set()

    def __call__(self, scenario: Any, seed: int) -> Any:
        delay = scenario.people.approval_delay_hours
        self.calls.append((delay, seed))
        if seed in self.fail_on:
            raise RuntimeError("a harness bug")
        result = kpis(seed, mismatches=int(delay[0]) + seed, p50=delay[1] * 2)
        return SimpleNamespace(kpis={**result, "schema_version": KPI_SCHEMA_VERSION, "scenario": scenario.name})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeSimulate:
    recorder = FakeSimulate()
    monkeypatch.setattr("simulator.run.simulate", recorder)
    return recorder


def test_a_sweep_writes_its_results_and_a_rerun_skips_every_finished_run(tmp_path: Path, fake: FakeSimulate) -> None:
    path, out = sweep_file(tmp_path), tmp_path / "out"
    result = sweep(str(path), "--jobs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(fake.calls) == [((2, 24), 1), ((2, 24), 2), ((48, 96), 1), ((48, 96), 2)]
    assert "c2c sweep · tiny · 2 points × 2 seeds" in result.output
    assert "4 runs on 1 worker; 0 finished runs reused" in result.output
    first = results(out)
    summary = json.loads(first["sweep.json"])
    assert summary["points"][1]["kpis"]["reconciliation.mismatches"]["mean"] == 49.5  # 48 + seeds 1 and 2
    loaded = load_sweep(path)
    for point in loaded.points:
        assert (out / "scenarios" / f"{point.scenario_hash[:12]}.yaml").exists()
        for seed in (1, 2):
            assert (out / "runs" / f"{point.scenario_hash[:12]}-s{seed}" / "kpis.json").exists()

    fake.calls.clear()
    again = sweep(str(path), "--jobs", "1", "--out", str(out))
    assert again.exit_code == 0, again.output
    assert fake.calls == [] and "0 runs on 1 worker; 4 finished runs reused" in again.output
    assert results(out) == first


def test_an_interrupted_sweep_runs_only_what_is_not_finished(tmp_path: Path, fake: FakeSimulate) -> None:
    path, out = sweep_file(tmp_path), tmp_path / "out"
    assert sweep(str(path), "--jobs", "1", "--out", str(out), "--quiet").exit_code == 0
    first = results(out)
    p01, p02 = load_sweep(path).points
    runs = out / "runs"
    (runs / f"{p01.scenario_hash[:12]}-s2" / "kpis.json").unlink()  # never finished
    (runs / f"{p02.scenario_hash[:12]}-s1" / "kpis.json").write_text('{"schema_ver')  # cut off mid-write
    stale = runs / f"{p02.scenario_hash[:12]}-s2" / "kpis.json"  # written by a c2c with another KPI schema
    stale.write_text(stale.read_text().replace(f'"schema_version": "{KPI_SCHEMA_VERSION}"', '"schema_version": "0.9"'))
    fake.calls.clear()
    result = sweep(str(path), "--jobs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(fake.calls) == [((2, 24), 2), ((48, 96), 1), ((48, 96), 2)]
    assert "3 runs on 1 worker; 1 finished runs reused" in result.output
    assert results(out) == first


def test_more_seeds_later_run_only_the_new_seeds(tmp_path: Path, fake: FakeSimulate) -> None:
    out = tmp_path / "out"
    assert sweep(str(sweep_file(tmp_path, seeds="[1]")), "--jobs", "1", "--out", str(out), "--quiet").exit_code == 0
    fake.calls.clear()
    assert sweep(str(sweep_file(tmp_path, seeds="[1, 2]")), "--jobs", "1", "--out", str(out), "--quiet").exit_code == 0
    assert sorted(fake.calls) == [((2, 24), 2), ((48, 96), 2)]
    assert json.loads((out / "sweep.json").read_text())["seeds"] == [1, 2]


def test_points_that_describe_the_same_scenario_share_their_runs(tmp_path: Path, fake: FakeSimulate) -> None:
    path = sweep_file(tmp_path, seeds="[1]", grid="people.approval_delay_hours: [[2, 24], [2.0, 24.0]]")
    result = sweep(str(path), "--jobs", "1", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert fake.calls == [((2, 24), 1)]
    summary = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert [point["id"] for point in summary["points"]] == ["p01", "p02"]
    assert summary["points"][0]["kpis"] == summary["points"][1]["kpis"]


def test_a_harness_failure_keeps_the_finished_runs_and_says_how_to_reproduce(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    failing = FakeSimulate(fail_on={2})
    monkeypatch.setattr("simulator.run.simulate", failing)
    path, out = sweep_file(tmp_path), tmp_path / "out"
    result = sweep(str(path), "--jobs", "1", "--out", str(out))
    assert result.exit_code == 3, result.output
    text = "".join(result.output.splitlines())
    p01 = load_sweep(path).points[0]
    crash = out / "runs" / f"{p01.scenario_hash[:12]}-s2" / "crash.txt"
    assert "internal error 2 of 4 runs failed in the harness; the first, point p01 seed 2: details in " in text
    assert f"reproduce with: c2c simulate {out / 'scenarios' / (p01.scenario_hash[:12] + '.yaml')} --seed 2" in text
    assert "RuntimeError: a harness bug" in crash.read_text() and "Traceback" not in result.output
    assert not any((out / name).exists() for name in RESULTS)  # no results from half the runs

    fixed = FakeSimulate()
    monkeypatch.setattr("simulator.run.simulate", fixed)
    result = sweep(str(path), "--jobs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(fixed.calls) == [((2, 24), 2), ((48, 96), 2)] and not crash.exists()


def explode(runtime: Any) -> Any:
    """A connector factory that fails: the connector's bug, not the harness's."""
    raise RuntimeError("boom")


def test_a_connector_that_cannot_be_built_is_exit_2_with_the_point(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, seeds="[1]", grid='connector: ["tests.test_sweep_cli:explode"]')
    out = tmp_path / "out"
    result = sweep(str(path), "--jobs", "1", "--out", str(out))
    assert result.exit_code == 2, result.output
    text = "".join(result.output.splitlines())
    assert f"error: {path}: point p01 seed 1: connector: factory tests.test_sweep_cli:explode raised RuntimeError: " \
           f"boom (at tests/test_sweep_cli.py:" in text
    assert "reproduce with: c2c simulate " in text and "Traceback" not in text


@pytest.mark.parametrize("args, message", [
    (["--jobs", "2", "--dask", "tcp://127.0.0.1:8786"], "error: --jobs and --dask both say where to run; give one"),
    (["--dask", "127.0.0.1:8786"], "is not a scheduler address such as tcp://127.0.0.1:8786"),
    (["--dask", "tcp://127.0.0.1"], "is not a scheduler address"),
    (["--jobs", "0"], "--jobs"),
    (["--out", ""], "must name a directory"),
])
def test_bad_options_are_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = sweep(str(sweep_file(tmp_path)), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_missing_connector_module_is_refused_before_anything_runs(tmp_path: Path, fake: FakeSimulate) -> None:
    path = sweep_file(tmp_path, seeds="[1]", grid='connector: ["nowhere.at_all:build"]')
    result = sweep(str(path), "--jobs", "1", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and fake.calls == []
    assert result.output.startswith(f"error: {path}: point p01 (connector=\"nowhere.at_all:build\", months=1): "
                                    f"connector: cannot import connector module 'nowhere.at_all'")


# -- real runs (slow) ------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_worker_and_two_give_byte_identical_results(tmp_path: Path) -> None:
    path = sweep_file(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    first = sweep(str(path), "--jobs", "1", "--out", str(one))
    assert first.exit_code == 0, first.output
    second = sweep(str(path), "--jobs", "2", "--out", str(two))
    assert second.exit_code == 0, second.output
    assert results(one) == results(two)
    summary = json.loads((one / "sweep.json").read_text())
    mismatches = [point["kpis"]["reconciliation.mismatches"] for point in summary["points"]]
    assert all(m["n"] == 2 and m["mean"] == 0 for m in mismatches)  # the reference connector reconciles
    cycle = [point["kpis"]["invoices.cycle_time_hours.p50"] for point in summary["points"]]
    assert all(c["n"] == 2 and c["low"] is not None for c in cycle)
    rerun = sweep(str(path), "--jobs", "2", "--out", str(two))
    assert "0 runs on 1 worker; 4 finished runs reused" in rerun.output
    assert results(two) == results(one)


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_results_as_the_process_pool(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    path = sweep_file(tmp_path)
    pool = sweep(str(path), "--jobs", "2", "--out", str(tmp_path / "pool"))
    assert pool.exit_code == 0, pool.output
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = sweep(str(path), "--dask", cluster.scheduler_address, "--out", str(tmp_path / "dask"))
    assert on_dask.exit_code == 0, on_dask.output
    assert f"4 runs on the Dask cluster at {cluster.scheduler_address}" in "".join(on_dask.output.splitlines())
    assert results(tmp_path / "dask") == results(tmp_path / "pool")


@pytest.mark.slow
def test_a_dask_scheduler_that_does_not_answer_is_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = sweep(str(sweep_file(tmp_path)), "--dask", f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: Timed out")
