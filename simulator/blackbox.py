"""A black-box connector: any program, run as a process, reached over real HTTP.

The black-box contract: the harness starts the vendor's command (a shell
command line) with

- ``C2C_CRM_URL``, ``C2C_CLM_URL``, ``C2C_PSA_URL``, ``C2C_ERP_URL``: the
  systems' base URLs (served by ``c2c serve`` on loopback);
- ``C2C_CLIENT_ID``, ``C2C_CLIENT_SECRET``: OAuth2 client credentials;
- ``C2C_WEBHOOK_SECRET``: the Standard Webhooks secret;
- ``C2C_LISTEN``: ``host:port`` the connector must listen on;
- ``C2C_STATE_DIR``: its durable state, kept across kills and restarts;
- ``C2C_TIME_SCALE``: simulated seconds per wall second (a hint: a
  connector may run its timers that much faster to keep up);

and the connector serves ``POST /webhooks/{system}`` and ``GET /healthz``.
A health answer that is a JSON object with ``subscriptions`` (a list of
event types) subscribes the connector to those: the others are not sent,
as with a webhook endpoint configured for some events only.

:class:`ConnectorCommand` is a connector factory for the harness's host,
like any other: each call (the first start, and the restart after each
crash) starts the process on the same state directory, waits until
``GET /healthz`` answers 200 and returns a
:class:`~simulator.forwarding.ForwardingConnector` that POSTs every
delivery to it. Its :meth:`~ConnectorCommand.halt` (the host calls it when
the simulated process dies) is a real ``SIGKILL`` of the process group. A
process that dies on its own, or is killed by a kill point over HTTP
(:meth:`~ConnectorCommand.kill_now`), is restarted at once, as a service
supervisor would.

Its standard output and error go to two files in ``log_dir``, appended to
across restarts with a marker line per start, so a results bundle keeps
them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from simulator.forwarding import ForwardingConnector, WebhookPoster, released
from simulator.runtime import ConnectorLoadError

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0
HEALTH_POLL_S = 0.05
WATCH_S = 0.05


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class ConnectorCommand:
    """Runs ``command`` as the connector process; a connector factory with process control.

    ``launch(urls)`` must be called once the systems are served, before the
    first delivery: the process is started then (the host builds its first
    connector before the server is up, and that first call only prepares).
    """

    def __init__(self, command: str, state_dir: Path, log_dir: Path, time_scale: float,
                 lock: threading.Lock | None = None, host: str = "127.0.0.1") -> None:
        self.command = command
        self.state_dir = Path(state_dir)
        self.log_dir = Path(log_dir)
        self.time_scale = time_scale
        self.lock = lock
        self.host = host
        self.port = free_port(host)
        self.stdout_path = self.log_dir / "connector.stdout.log"
        self.stderr_path = self.log_dir / "connector.stderr.log"
        self.starts = 0  # numbers the marker line of each start in the logs
        self.on_revived: Callable[[], None] | None = None  # told after the watchdog restarted a dead process
        self.on_delivered: Callable[[], None] = lambda: None  # told after each webhook delivery is answered
        self.on_delivering: Callable[[], None] = lambda: None  # told before each webhook delivery
        self.subscriptions: frozenset[str] | None = None  # what its GET /healthz says it wants, if it says
        self.after_run: Callable[[], None] = self.close  # what ends the run for it (the host's close)
        self._env: dict[str, str] | None = None
        self._credentials: tuple[str, str, str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._held_down = True  # no process wanted until launch, and while the host has it down
        self._guard = threading.Lock()  # one start or kill at a time (host thread, watchdog, kill points)
        self._closing = threading.Event()
        self._up = threading.Event()  # clear from a kill point's SIGKILL until the watchdog has it back
        self._up.set()
        self._watchdog = threading.Thread(target=self._watch, name="c2c-connector-watchdog", daemon=True)
        self.__qualname__ = f"ConnectorCommand({command!r})"
        self.__module__ = __name__

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- the factory the host calls ---------------------------------------------------------------
    def __call__(self, runtime: Any) -> ForwardingConnector:
        client_id, client_secret = next(iter(runtime.credentials.values()))
        self._credentials = (client_id, client_secret, runtime.webhook_secret)
        if self._env is not None:  # a restart: the systems are served already
            with released(self.lock):
                self._start()
        return ForwardingConnector(self.url, self.lock, WebhookPoster(self.url),
                                   lambda: self.subscriptions, on_close=self.after_run,
                                   on_delivered=self.on_delivered, on_delivering=self.on_delivering)

    def launch(self, urls: dict[str, str]) -> None:
        """Start the process for the first time, now that the systems answer at ``urls``."""
        if self._credentials is None:
            raise RuntimeError("launch() before the host built its first connector")
        client_id, client_secret, webhook_secret = self._credentials
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._env = {
            **{f"C2C_{system.upper()}_URL": url for system, url in urls.items()},
            "C2C_CLIENT_ID": client_id, "C2C_CLIENT_SECRET": client_secret, "C2C_WEBHOOK_SECRET": webhook_secret,
            "C2C_LISTEN": f"{self.host}:{self.port}", "C2C_STATE_DIR": str(self.state_dir),
            "C2C_TIME_SCALE": f"{self.time_scale:g}",
        }
        atexit.register(self._kill_at_exit)  # a harness interrupted mid-run leaves no connector behind
        self._start()
        self._watchdog.start()

    def _kill_at_exit(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGKILL)

    def halt(self) -> None:
        """The simulated process dies: SIGKILL, and it stays down until the host builds the next connector."""
        with self._guard:
            self._held_down = True
            self._kill()
        self._up.set()  # down on the host's schedule now, not waiting for the watchdog

    def kill_now(self) -> None:
        """SIGKILL from a kill point (over HTTP, on a server thread): never blocks; the watchdog restarts it."""
        process = self._process
        if process is not None and process.poll() is None:
            self._up.clear()
            _signal_group(process, signal.SIGKILL)

    def await_restart(self) -> float:
        """Wait until a process a kill point killed is back (or could not be); the wall seconds waited.

        The served firm calls it before each step: a restart after a kill
        point takes no simulated time, as one the host makes inside a step.
        """
        if self._up.is_set():
            return 0.0
        started = time.monotonic()
        while not self._up.wait(WATCH_S) and not self._closing.is_set():
            pass
        return time.monotonic() - started

    def close(self) -> None:
        """Stop the process for good: SIGTERM, then SIGKILL after a grace period."""
        self._closing.set()
        self._up.set()
        with self._guard:
            self._held_down = True
            process = self._process
            if process is not None and process.poll() is None:
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait()
        if self._watchdog.is_alive():
            self._watchdog.join()

    # -- the process ----------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._guard:
            self._kill()
            self._spawn()
        self._await_health()

    def _spawn(self) -> None:
        """Start the command (the caller holds ``_guard``); stdout and stderr appended to the log files."""
        self.starts += 1
        marker = f"--- c2c: start {self.starts} at {time.strftime('%Y-%m-%dT%H:%M:%S')} ---\n".encode()
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            out.write(marker)
            err.write(marker)
            out.flush()
            err.flush()
            self._process = subprocess.Popen(self.command, shell=True, env={**os.environ, **(self._env or {})},
                                             stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                             start_new_session=True)
        self._held_down = False

    def _await_health(self) -> None:
        """Wait until the current process answers ``GET /healthz`` with 200.

        A process a kill point killed while it started (its first requests
        meet the plan too) is not a failure to start: the watchdog starts the
        next one, and the wait goes on for it. One that exits on its own is
        (:class:`ConnectorLoadError`, with the end of its stderr), and so is
        one the host halted meanwhile.
        """
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=1.0) as probe:
            while time.monotonic() < deadline:
                process = self._process
                status = process.poll() if process is not None else None
                if self._held_down or self._closing.is_set():
                    raise ConnectorLoadError("connector process was stopped while it started")
                if status is not None and status != -signal.SIGKILL:
                    raise ConnectorLoadError(f"connector command exited with status {status} before GET /healthz "
                                             f"answered; {self._stderr_tail()}")
                if status is None:
                    try:
                        health = probe.get(f"{self.url}/healthz")
                    except httpx.TransportError:
                        health = None
                    if health is not None and health.status_code == 200 and process is self._process:
                        self.subscriptions = _subscriptions(health)
                        return
                time.sleep(HEALTH_POLL_S)
        raise ConnectorLoadError(f"connector command did not answer GET {self.url}/healthz with 200 within "
                                 f"{START_TIMEOUT_S:g} s; {self._stderr_tail()}")

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGKILL)
            process.wait()

    def _watch(self) -> None:
        """Restart a process that died while it was meant to run (a kill point, or its own crash)."""
        while not self._closing.wait(WATCH_S):
            with self._guard:
                process = self._process
                if self._held_down or self._closing.is_set() or process is None or process.poll() is None:
                    continue
                self._spawn()
            try:
                self._await_health()
            except ConnectorLoadError:
                self._held_down = True  # it cannot come back: deliveries fail (502) until the host restarts it
                self._up.set()
                continue
            if self.on_revived is not None:
                self.on_revived()
            self._up.set()

    def _stderr_tail(self, lines: int = 5) -> str:
        try:
            tail = self.stderr_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            tail = []
        return "its stderr ends: " + " | ".join(tail) if tail else "it wrote nothing to stderr"


def _subscriptions(health: httpx.Response) -> frozenset[str] | None:
    """The event types a health answer names (a JSON object's ``subscriptions``: a list of strings), or None."""
    try:
        wanted = health.json().get("subscriptions")
    except (ValueError, AttributeError):
        return None
    if isinstance(wanted, list) and all(isinstance(t, str) for t in wanted):
        return frozenset(wanted)
    return None


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the process's whole group: a shell command line's children die with it."""
    with contextlib.suppress(ProcessLookupError):  # it is gone already
        os.killpg(process.pid, signum)

