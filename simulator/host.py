"""Hosting a connector in simulated time: build it, feed it, crash it.

The host owns the connector's :class:`~simulator.runtime.Runtime`. The
runtime's ``storage`` outlives the connector object; a crash throws the
object and its scheduled callbacks away and builds a fresh one on the same
storage, which is exactly what a process restart on a real server does.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, MutableMapping
from typing import Any

import httpx
import simpy

from mocks.core.clock import Clock
from mocks.core.faults import ProcessKilled
from mocks.core.webhooks import Delivery
from simulator.runtime import Connector, ConnectorLoadError, Runtime, Scheduler, build_connector
from simulator.storage import MemoryStorage
from simulator.systems import SYSTEMS, Systems
from simulator.trace import Trace, TraceLogHandler


class ConnectorHost:
    def __init__(self, env: simpy.Environment, clock: Clock, systems: Systems, transport: httpx.BaseTransport,
                 factory: Callable[[Runtime], Connector], rng: random.Random, trace: Trace,
                 storage: MutableMapping[str, Any] | None = None) -> None:
        self.env = env
        self.clock = clock
        self.systems = systems
        self.factory = factory
        self.rng = rng
        self.trace = trace
        self.storage: MutableMapping[str, Any] = MemoryStorage() if storage is None else storage
        self.http = httpx.Client(transport=transport)
        self.errors: list[str] = []
        self.crashes = 0
        self.connector: Connector | None = None
        self.scheduler: Scheduler | None = None
        self.log = logging.Logger("c2c.connector", logging.INFO)  # unregistered: one per run, no global state
        self.log.addHandler(TraceLogHandler(trace))
        try:
            self.start()
        except BaseException:
            self.http.close()
            raise

    def record_error(self, exc: BaseException) -> None:
        self.errors.append(f"{type(exc).__name__}: {exc}")
        self.trace.record("connector_error", error=type(exc).__name__, detail=str(exc)[:200])

    def start(self) -> None:
        """Build a connector on the runtime; :class:`~simulator.runtime.ConnectorLoadError` if the factory fails.

        Whatever instance ran before is cancelled first: there is never more
        than one live connector on the storage, as with one process.
        """
        if self.scheduler is not None:
            self.scheduler.cancel_all()
        self.scheduler = Scheduler(self.env, self.record_error, self.crash)
        credentials = self.systems.credentials
        runtime = Runtime(
            http=self.http,
            urls=self.systems.urls,
            credentials={s: (credentials.client_id, credentials.client_secret) for s in SYSTEMS},
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
        return wanted is None or event_type in wanted

    def receive(self, delivery: Delivery) -> int:
        if self.connector is None:
            return 503  # down: the sender sees its request fail and retries on its schedule
        try:
            return self.connector.receive(delivery)
        except ProcessKilled:
            self.crash()
            return 503  # the process died while handling it: no answer ever reached the sender

    def stop(self) -> None:
        """The process dies and stays down: nothing runs, every delivery fails, until :meth:`restart`."""
        self.crashes += 1
        if self.scheduler is not None:
            self.scheduler.cancel_all()
        self.connector = None
        self.trace.record("connector_crash", n=self.crashes)

    def restart(self) -> None:
        """A new process on the same durable storage."""
        try:
            self.start()
        except ConnectorLoadError as exc:
            raise ConnectorLoadError(f"restarting after simulated crash {self.crashes}: {exc}") from exc
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
        if self.connector is not None:
            self.connector.close()
        self.http.close()
