"""Hosting a connector in simulated time: build it, feed it, crash it.

The host owns the connector's :class:`~simulator.contract.Runtime`. The
runtime's ``storage`` outlives the connector object; a crash throws the
object and its scheduled callbacks away and builds a fresh one on the same
storage, which is exactly what a process restart on a real server does.

Whatever the connector gets wrong is the connector's, never the harness's:
an exception from its factory (on a restart), from ``receive`` or from a
scheduled callback, and a ``receive`` that does not return an HTTP status
(an ``int`` in 100..599, not a ``bool``) are each counted as a
:class:`ConnectorFault` of their kind, with the first occurrence kept in
full, and the run goes on. The sender of a delivery the connector raised
on, or answered without a status, sees a 500 and retries.
"""

from __future__ import annotations

import inspect
import logging
import random
import sysconfig
import traceback
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import simpy

from mocks.core.clock import Clock, iso
from mocks.core.faults import ProcessKilled
from mocks.core.webhooks import Delivery
from mocks.systems import Systems
from simulator.connector_client import ConnectorClient
from simulator.contract import Connector, ConnectorFactory, Runtime, Storage
from simulator.runtime import ConnectorLoadError, SimulatedScheduler, build_connector
from simulator.storage import MemoryStorage
from simulator.trace import Trace, TraceLogHandler

ROOT = Path(__file__).resolve().parent.parent
HARNESS_FILES = frozenset(str(Path(__file__).resolve().parent / name) for name in ("host.py", "runtime.py"))
HARNESS_DIRS = ("simulator/", "mocks/")  # the harness's code, as short_path shows it
LIBRARY_DIRS = ("site-packages", "dist-packages")
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


class FaultKind(StrEnum):
    BUILD = "build"  # the factory raised, or built something without receive/close (on a restart)
    RECEIVE = "receive"  # receive() raised
    BAD_RETURN = "bad_return"  # receive() returned something that is not an HTTP status
    SCHEDULED_CALLBACK = "scheduled_callback"  # a call_later/every callback raised
    CLOSE = "close"  # close() raised at the end of the run
    SUBSCRIPTIONS = "subscriptions"  # ``subscriptions`` is not a collection of event-type strings


WHAT = {
    FaultKind.BUILD: "in its factory",
    FaultKind.RECEIVE: "in receive()",
    FaultKind.SCHEDULED_CALLBACK: "in a scheduled callback",
    FaultKind.CLOSE: "in close()",
}


def short_path(filename: str) -> str:
    """A source path as a report shows it: relative to the repository, or to site-packages, else as given."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(ROOT))
    except (ValueError, OSError):
        pass
    parts = path.parts
    for marker in LIBRARY_DIRS:
        if marker in parts:
            return str(Path(*parts[parts.index(marker) + 1:]))
    return filename


def _origin(filename: str, own_package: str) -> str:
    """Whose code a frame is: "harness", "own" (the connector's), or a library's name ("httpx", "stdlib")."""
    if short_path(filename).startswith(HARNESS_DIRS):
        return "harness"
    parts = Path(filename).parts
    for marker in LIBRARY_DIRS:
        if marker in parts and parts.index(marker) + 1 < len(parts):
            library = parts[parts.index(marker) + 1]
            return "own" if library == own_package else library
    try:
        Path(filename).resolve().relative_to(STDLIB)
        return "stdlib"
    except (ValueError, OSError):
        return "own"


def connector_traceback(exc: BaseException, own_package: str = "") -> tuple[str, str]:
    """(where, traceback) of an exception the connector raised.

    The harness's calling frames are left out, a run of frames inside
    libraries (httpx, the standard library; not ``own_package``, the
    connector's own) is one line, and paths are shortened, so the text is
    the same on every machine and starts in the connector's code.
    ``where`` is the innermost frame of the connector's own code (not a
    library's, not the harness's: an injected timeout is raised by the mock
    transport, but the connector is where it was let through).
    """
    frames = list(traceback.extract_tb(exc.__traceback__))
    while len(frames) > 1 and frames[0].filename in HARNESS_FILES:
        frames.pop(0)
    origins = [_origin(frame.filename, own_package) for frame in frames]
    lines = ["Traceback (most recent call last):\n"]
    i = 0
    while i < len(frames):
        run = 0
        while i + run < len(frames) and origins[i + run] not in ("own", "harness"):
            run += 1
        if run > 1:
            libraries = ", ".join(dict.fromkeys(origins[i:i + run]))
            lines.append(f"  [{run} frames in {libraries}]\n")
        else:
            frame = frames[i]
            lines.append(f'  File "{short_path(frame.filename)}", line {frame.lineno}, in {frame.name}\n')
            if frame.line:
                lines.append(f"    {frame.line.strip()}\n")
        i += max(run, 1)
    lines += traceback.format_exception_only(type(exc), exc)
    own = [frame for frame, origin in zip(frames, origins, strict=True) if origin == "own"]
    last = own[-1] if own else frames[-1] if frames else None
    where = f"{short_path(last.filename)}:{last.lineno} in {last.name}" if last else "unknown"
    return where, "".join(lines).rstrip()


def _defined_at(function: Any) -> str:
    """Where a connector's method is defined, ``path:line in name`` (for a bad return value)."""
    try:
        target = inspect.unwrap(getattr(function, "__func__", function))
        return f"{short_path(inspect.getsourcefile(target) or '?')}:{target.__code__.co_firstlineno} in " \
               f"{target.__qualname__}"
    except (TypeError, AttributeError):
        return repr(function)


@dataclass
class ConnectorFault:
    """One kind of fault of the connector in a run: how often it happened, and the first time in full."""

    kind: FaultKind
    error: str  # the first one's exception type, or "returned <type>" for a bad return value
    message: str
    where: str  # ``path:line in function`` of the first one
    first_at: str  # simulated time of the first one
    traceback: str = ""  # the first one's, the connector's frames only
    count: int = 0
    by_error: Counter = field(default_factory=Counter)  # error (type) -> count

    def headline(self) -> str:
        """"connector raised RuntimeError in receive() 412 times; first at conn.py:12 in receive (2026-01-05T09:00:00Z):
        boom"."""
        times = "once" if self.count == 1 else f"{self.count:,} times"
        others = ", ".join(f"{e} ×{n}" for e, n in self.by_error.items() if e != self.error)
        also = f" (also {others})" if others else ""
        if self.kind is FaultKind.SUBSCRIPTIONS:
            return (f"connector's subscriptions {self.error} instead of a set of event types, so every event was "
                    f"delivered ({self.message}); first at {self.first_at}")
        if self.kind is FaultKind.BAD_RETURN:
            return (f"connector's receive() {self.error}{also} instead of an HTTP status (an int in 100..599) "
                    f"{times}; the sender saw a 500 each time; first at {self.where} ({self.first_at})")
        return (f"connector raised {self.error}{also} {WHAT[self.kind]} {times}; first at {self.where} "
                f"({self.first_at}): {self.message}")

    def to_json(self, *, with_traceback: bool = True) -> dict[str, Any]:
        """Counts only, or (``with_traceback``) the first occurrence in full too."""
        counts = {"kind": str(self.kind), "count": self.count, "by_error": dict(sorted(self.by_error.items()))}
        if not with_traceback:
            return counts
        return {**counts, "first": {"error": self.error, "message": self.message, "where": self.where,
                                    "at": self.first_at, "traceback": self.traceback}}


class ConnectorHost:
    def __init__(self, env: simpy.Environment, clock: Clock, systems: Systems, transport: httpx.BaseTransport,
                 factory: ConnectorFactory, rng: random.Random, trace: Trace,
                 storage: Storage | None = None) -> None:
        self.env = env
        self.clock = clock
        self.systems = systems
        self.factory = factory
        self.rng = rng
        self.trace = trace
        self.storage: Storage = MemoryStorage() if storage is None else storage
        self.http = ConnectorClient(transport=transport)
        self.errors: list[str] = []  # one line per fault of the connector, in order
        self.faults: dict[FaultKind, ConnectorFault] = {}  # in order of first occurrence
        self.crashes = 0
        self.connector: Connector | None = None
        self.scheduler: SimulatedScheduler | None = None
        self._valid_subscriptions: frozenset | None = None  # the connector's subscriptions, once checked
        self.log = logging.Logger("c2c.connector", logging.INFO)  # unregistered: one per run, no global state
        self.log.addHandler(TraceLogHandler(trace))
        try:
            self.start()
        except BaseException:
            self.http.close()
            raise

    def record_error(self, exc: BaseException, kind: FaultKind = FaultKind.RECEIVE) -> None:
        """A connector exception: counted under ``kind``; the first of its kind keeps its traceback."""
        if isinstance(exc, ConnectorLoadError) and exc.__cause__ is not None:
            exc = exc.__cause__  # what the factory raised, where it raised it
        own_package = (getattr(self.factory, "__module__", None) or "").partition(".")[0]
        where, text = connector_traceback(exc, own_package) if kind not in self.faults else ("", "")
        self._count(kind, type(exc).__name__, str(exc), where, text)

    def record_bad_return(self, value: Any) -> None:
        """``receive`` answered with something that is not an HTTP status."""
        error = f"returned {value!r}"[:60] if value is None or isinstance(value, (bool, int)) \
            else f"returned a {type(value).__name__}"
        self._count(FaultKind.BAD_RETURN, error, repr(value)[:200],
                    _defined_at(getattr(self.connector, "receive", None)) if FaultKind.BAD_RETURN not in self.faults
                    else "", "")

    def _count(self, kind: FaultKind, error: str, message: str, where: str, text: str) -> None:
        fault = self.faults.get(kind)
        if fault is None:
            fault = self.faults[kind] = ConnectorFault(kind, error, message[:500], where, iso(self.clock.now()), text)
        fault.count += 1
        fault.by_error[error] += 1
        self.errors.append(f"{kind}: {error}: {message}"[:300])
        self.trace.record("connector_error", during=str(kind), error=error, detail=message[:200])

    @property
    def error_count(self) -> int:
        return sum(fault.count for fault in self.faults.values())

    def start(self) -> None:
        """Build a connector on the runtime; :class:`~simulator.runtime.ConnectorLoadError` if the factory fails.

        Whatever instance ran before is cancelled first: there is never more
        than one live connector on the storage, as with one process.
        """
        if self.scheduler is not None:
            self.scheduler.cancel_all()
        self.scheduler = SimulatedScheduler(self.env, lambda exc: self.record_error(exc, FaultKind.SCHEDULED_CALLBACK),
                                            self.crash)
        credentials = self.systems.credentials
        runtime = Runtime(
            http=self.http,
            urls=self.systems.urls,
            credentials={s: (credentials.client_id, credentials.client_secret) for s in self.systems.backends},
            webhook_secret=self.systems.webhook_secret,
            clock=self.clock,
            scheduler=self.scheduler,
            storage=self.storage,
            rng=self.rng,
            log=self.log,
        )
        self.connector = build_connector(self.factory, runtime)

    def subscribed(self, event_type: str) -> bool:
        """Whether the connector's webhook subscription covers ``event_type``.

        A connector may declare ``subscriptions`` (a set of event types), as a
        real webhook endpoint is configured with the events it wants; without
        it, every event is delivered.
        """
        wanted = getattr(self.connector, "subscriptions", None)
        if wanted is None:
            return True
        if wanted is self._valid_subscriptions:  # a frozenset checked before: it cannot have changed since
            return event_type in wanted
        if isinstance(wanted, (str, bytes)) or not isinstance(wanted, Collection) \
                or not all(isinstance(t, str) for t in wanted):
            # a configuration error of the connector's, counted once per delivery: an endpoint with no filter
            self._count(FaultKind.SUBSCRIPTIONS, f"is a {type(wanted).__name__}", repr(wanted)[:200], "", "")
            return True
        if type(wanted) is frozenset:
            self._valid_subscriptions = wanted
        return event_type in wanted

    def receive(self, delivery: Delivery) -> int:
        """The connector's answer to one delivery, always an HTTP status: its faults are counted, never raised."""
        if self.connector is None:
            return 503  # down: the sender sees its request fail and retries on its schedule
        try:
            status = self.connector.receive(delivery)
        except ProcessKilled:
            self.crash()
            return 503  # the process died while handling it: no answer ever reached the sender
        except (Exception, SystemExit) as exc:  # a bug in the connector: its web server would answer 500
            self.record_error(exc, FaultKind.RECEIVE)
            return 500
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            self.record_bad_return(status)
            return 500  # no status line the sender could read: a failed delivery, retried
        return int(status)

    def stop(self) -> None:
        """The process dies and stays down: nothing runs, every delivery fails, until :meth:`restart`.

        A factory that runs the connector as a real process (black-box mode,
        :class:`simulator.blackbox.ConnectorCommand`) has a ``halt()``: it is
        called here, and the process is killed for real.
        """
        self.crashes += 1
        if self.scheduler is not None:
            self.scheduler.cancel_all()
        self.connector = None
        halt = getattr(self.factory, "halt", None)
        if callable(halt):
            halt()
        self.trace.record("connector_crash", n=self.crashes)

    def restart(self) -> None:
        """A new process on the same durable storage; if the factory fails, the process stays down (a build fault)."""
        try:
            self.start()
        except ConnectorLoadError as exc:
            self.connector = None
            self.record_error(exc, FaultKind.BUILD)
            self.trace.record("connector_restart_failed", n=self.crashes)
            return
        self.trace.record("connector_restart", n=self.crashes)

    def crash(self) -> None:
        """Kill the connector mid-flight and start a new one on the same storage at once.

        A connector that is already down (a downtime window) cannot crash: it
        stays down until its window ends.
        """
        if self.connector is None:
            return
        self.stop()
        self.restart()

    def down_for(self, seconds: float):
        """A SimPy process: the connector is down for ``seconds``, then restarted."""
        self.stop()
        yield self.env.timeout(seconds)
        self.restart()

    def close(self) -> None:
        try:
            if self.connector is not None:
                self.connector.close()
        except (Exception, SystemExit) as exc:
            self.record_error(exc, FaultKind.CLOSE)
        finally:
            self.http.close()
