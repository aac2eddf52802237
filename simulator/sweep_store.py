"""A sweep's directory: the finished runs, kept so that a rerun skips them, and the result files.

Layout of ``DIR``:

- ``runs/<hash12>-s<seed>/kpis.json``: one finished run, named by its
  scenario's hash (:attr:`~simulator.sweep_file.SweepPoint.scenario_hash`,
  first 12 hex digits) and seed. Written whole or not at all (a temporary
  file renamed into place), so a sweep interrupted at any instant leaves
  only finished runs behind. A rerun of the same sweep, or of another whose
  points describe the same scenarios, reuses them; a run whose file holds
  another KPI schema version than this c2c writes is run again.
- ``runs/<hash12>-s<seed>/crash.txt``: the traceback of a run the harness
  failed on (no ``kpis.json``: the run is not finished).
- ``scenarios/<hash12>.yaml``: each point's validated scenario, written
  out whole: ``c2c simulate DIR/scenarios/<hash12>.yaml --seed N``
  reproduces a run.
- ``runs.csv``, ``points.csv``, ``sweep.json``: the results (their format
  is :mod:`simulator.sweep`'s docstring), byte-identical for the same sweep
  and runs.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from simulator.kpis import SCHEMA_VERSION as KPI_SCHEMA_VERSION
from simulator.output import write_kpis
from simulator.scenario import dump_scenario
from simulator.sweep_file import SweepPoint


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never a part."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


class RunStore:
    """Finished runs under ``DIR/runs``, by key (:func:`simulator.sweep.run_key`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def run_dir(self, key: str) -> Path:
        return self.directory / "runs" / key

    def finished(self, key: str, seed: int) -> dict[str, Any] | None:
        """The KPIs of a finished run, or ``None`` if the run must be (re)done."""
        try:
            kpis = json.loads((self.run_dir(key) / "kpis.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(kpis, dict) or kpis.get("schema_version") != KPI_SCHEMA_VERSION or kpis.get("seed") != seed:
            return None
        return kpis

    def save(self, key: str, kpis: dict[str, Any]) -> None:
        folder = self.run_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / "kpis.json.partial"
        write_kpis(partial, kpis)
        os.replace(partial, folder / "kpis.json")
        (folder / "crash.txt").unlink(missing_ok=True)

    def save_crash(self, key: str, text: str) -> Path:
        folder = self.run_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "crash.txt"
        path.write_text(text, encoding="utf-8")
        return path

    def scenario_path(self, point: SweepPoint) -> Path:
        return self.directory / "scenarios" / f"{point.scenario_hash[:12]}.yaml"

    def save_scenario(self, point: SweepPoint) -> Path:
        path = self.scenario_path(point)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            header = (f"# A sweep's grid point, whole (scenario hash {point.scenario_hash}).\n"
                      "# Reproduce one of its runs with: c2c simulate THIS_FILE --seed N\n")
            _write_whole(path, header + dump_scenario(point.scenario.model_dump(mode="json")))
        return path


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write_results(directory: Path, run_rows: list[list[str]], point_rows: list[list[str]],
                  summary: dict[str, Any]) -> list[Path]:
    """Write ``runs.csv``, ``points.csv`` and ``sweep.json`` into ``directory``; their paths."""
    written = []
    for name, text in (("runs.csv", csv_text(run_rows)), ("points.csv", csv_text(point_rows)),
                       ("sweep.json", json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")):
        path = directory / name
        _write_whole(path, text)
        written.append(path)
    return written
