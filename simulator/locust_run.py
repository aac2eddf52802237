"""Locust, headless, always in its own processes: a master, and workers if asked.

``import locust`` patches ``socket`` and ``threading`` process-wide
(gevent), so nothing here imports it or ``loadtests/``: :class:`LocustRun`
starts ``python -m locust`` and reads the CSV files it writes.

With ``workers`` > 0 the run is locust's own distributed mode on loopback:
one ``--master`` that expects that many ``--worker`` processes and counts
their requests. The same locustfile runs with workers on other machines by
starting them there with ``--worker --master-host HOST`` (see the README).
"""

from __future__ import annotations

import csv
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("steady", "step")
OTHER_USERS = 4  # the end-to-end locustfile's managers and finance clerk; every other user is a consultant
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class LoadProfile:
    """Who is at work and for how long: ``users`` (joining ``spawn_rate`` a second), ``duration_s``; in steps
    (``step``: ``step_users`` more every ``step_s`` seconds) or all at once (``steady``)."""

    users: int
    spawn_rate: float
    duration_s: float
    shape: str = "steady"
    step_users: int | None = None
    step_s: float = 10.0
    rate_per_s: float | None = None  # timesheets submitted a second by all consultants (None: one per consultant)
    step_rate_per_s: float | None = None  # with shape "step" and a rate: the rate climbs by this every step

    @classmethod
    def for_rate(cls, rate_per_s: float, duration_s: float, *, step_rate_per_s: float | None = None,
                 step_s: float = 10.0) -> LoadProfile:
        """Enough users for ``rate_per_s`` timesheets a second (each consultant at most two), all at once; with
        ``step_rate_per_s``, their pace climbs from that rate by that much every ``step_s`` up to ``rate_per_s``."""
        consultants = max(2, math.ceil(rate_per_s / 2))
        users = consultants + OTHER_USERS
        return cls(users, float(users), duration_s, "step" if step_rate_per_s else "steady", step_s=step_s,
                   rate_per_s=rate_per_s, step_rate_per_s=step_rate_per_s)

    def environment(self) -> dict[str, str]:
        """The ``C2C_LOAD_*`` variables a locustfile's shape reads."""
        settings = {"C2C_LOAD_PROFILE": self.shape, "C2C_LOAD_USERS": str(self.users),
                    "C2C_LOAD_SPAWN_RATE": str(self.spawn_rate), "C2C_LOAD_DURATION_S": str(self.duration_s),
                    "C2C_LOAD_STEP_S": str(self.step_s)}
        if self.step_users is not None:
            settings["C2C_LOAD_STEP_USERS"] = str(self.step_users)
        if self.rate_per_s is not None:
            settings["C2C_LOAD_RATE"] = f"{self.rate_per_s:g}"
        if self.step_rate_per_s is not None:
            settings["C2C_LOAD_STEP_RATE"] = f"{self.step_rate_per_s:g}"
        return settings


@dataclass(frozen=True)
class LocustTotals:
    """The ``Aggregated`` row of locust's ``*_stats.csv``."""

    requests: int
    failures: int
    requests_per_s: float
    median_ms: float
    p95_ms: float

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocustRun:
    """One headless locust run of ``locustfile`` against ``host``, writing ``{prefix}_*.csv`` and
    ``{prefix}.html``, its output in ``{prefix}.log`` (one file per process)."""

    def __init__(self, locustfile: Path, host: str, profile: LoadProfile, prefix: Path, *, workers: int = 0,
                 environment: dict[str, str] | None = None, remote_workers: int = 0,
                 master_bind: tuple[str, int] | None = None) -> None:
        self.locustfile = locustfile
        self.host = host
        self.profile = profile
        self.prefix = prefix
        self.workers = workers
        self.remote_workers = remote_workers  # started elsewhere by hand (worker_command), waited for
        self.master_bind = master_bind  # where the master listens for workers (default: loopback, a free port)
        self.overrides = {**profile.environment(), **(environment or {})}
        self.environment = {**os.environ, **profile.environment(), **(environment or {})}
        self.processes: list[subprocess.Popen] = []
        self._logs: list = []

    def _spawn(self, arguments: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.prefix.parent / f"{self.prefix.name}.{log_name}.log", "w")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        process = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(self.locustfile), *arguments],
                                   stdout=log, stderr=subprocess.STDOUT, env=self.environment,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def master_arguments(self) -> list[str]:
        p = self.profile
        arguments = ["--headless", "--host", self.host, "-u", str(p.users), "-r", str(p.spawn_rate),
                     "-t", f"{max(1, round(p.duration_s))}s", "--stop-timeout", "5",
                     "--csv", str(self.prefix), "--html", f"{self.prefix}.html", "--only-summary"]
        return arguments

    def start(self) -> LocustRun:
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        if self.workers + self.remote_workers <= 0:
            self._spawn(self.master_arguments(), "master")
            return self
        bind, port = self.master_bind or ("127.0.0.1", free_port())
        self.master_port = port
        self._spawn([*self.master_arguments(), "--master", "--master-bind-host", bind, "--master-bind-port", str(port),
                     "--expect-workers", str(self.workers + self.remote_workers)], "master")
        for n in range(self.workers):
            self._spawn(["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)], f"worker{n + 1}")
        return self

    def worker_command(self, master_host: str) -> str:
        """The command that starts one more worker on another machine (with this repository) for this run."""
        variables = " ".join(f"{name}={shlex.quote(value)}" for name, value in sorted(self.overrides.items()))
        shown = os.path.relpath(self.locustfile) if self.locustfile.is_relative_to(Path.cwd()) else str(self.locustfile)
        return (f"{variables} locust -f {shlex.quote(shown)} --worker --master-host {master_host} "
                f"--master-port {self.master_port}")

    @property
    def master(self) -> subprocess.Popen:
        return self.processes[0]

    def done(self) -> bool:
        return self.master.poll() is not None

    def stop(self) -> int | None:
        """Wait briefly for every process to end, then end them; the master's exit status."""
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self._logs:
            log.close()
        return self.master.returncode

    def totals(self) -> LocustTotals | None:
        """What locust counted, from its CSV (None if it wrote none)."""
        path = Path(f"{self.prefix}_stats.csv")
        if not path.exists():
            return None
        with path.open(newline="") as stream:
            for row in csv.DictReader(stream):
                if row.get("Name") == "Aggregated":
                    return LocustTotals(int(row["Request Count"]), int(row["Failure Count"]),
                                        float(row["Requests/s"]), float(row["Median Response Time"] or 0),
                                        float(row.get("95%") or 0))
        return None

    def output(self) -> str:
        """The master's output (its summary, or why it failed)."""
        path = self.prefix.parent / f"{self.prefix.name}.master.log"
        return path.read_text(errors="replace") if path.exists() else ""
