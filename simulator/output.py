"""The run's output files (DESIGN §11): a public, versioned format.

- ``kpis.json``: deterministic; sorted keys, fixed float rounding.
- ``events.jsonl``: deterministic; one record per line, in simulated-time order.
- ``run.json``: what is *not* deterministic: wall time, memory, versions.
"""

from __future__ import annotations

import json
import platform
import resource
import sys
from importlib import metadata
from pathlib import Path
from typing import IO, Any

PACKAGES = ("c2c", "simpy", "faker", "httpx", "pydantic", "pyyaml", "click", "rich")


class JsonLinesSink:
    """A trace sink that streams records to a file as compact JSON lines."""

    def __init__(self, stream: IO[str]) -> None:
        self._write = stream.write
        self._dumps = json.JSONEncoder(separators=(",", ":"), sort_keys=False).encode

    def __call__(self, record: dict[str, Any]) -> None:
        self._write(self._dumps(record) + "\n")


def write_kpis(path: Path, kpis: dict[str, Any]) -> None:
    path.write_text(json.dumps(kpis, indent=2, sort_keys=True) + "\n")


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_run(path: Path, *, wall_seconds: float, api_calls: int, trace_counts: dict[str, int],
              fault_counts: dict[str, int], command: list[str]) -> dict[str, Any]:
    run = {
        "wall_seconds": round(wall_seconds, 3),
        "peak_rss_mib": peak_rss_mib(),
        "connector_calls": api_calls,
        "connector_calls_per_wall_second": round(api_calls / wall_seconds, 1) if wall_seconds else None,
        "trace_records": dict(sorted(trace_counts.items())),
        "faults": dict(sorted(fault_counts.items())),
        "command": command,
        "versions": package_versions(),
    }
    path.write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
    return run
