"""Served mode: the firm in real time, scaled, with its systems on real HTTP.

This is the edge of the simulator that reads the wall clock (as
``simpy.rt`` is SimPy's). :class:`ServedEnvironment` is SimPy's real-time
environment, ``speed`` simulated seconds per wall second, that takes each
step while holding the lock the HTTP server handles requests under: the
firm and the server share the systems' state, and neither ever sees the
other half-way. Waiting for the next event's wall time happens outside the
lock, so requests are served while the firm waits.

What is simulated and what is wall time:

- business dates come from the simulated calendar: work dates, periods,
  billing runs, the timestamps of records and change events;
- what an HTTP client measures is in wall seconds: token lifetime,
  ``Idempotency-Key`` retention, rate-limit refills and ``Retry-After``
  (:meth:`mocks.core.service.Service.keep_time_with`), and the delay of a
  ``latency`` fault an external connector meets;
- fault windows and outages are simulated time, as the scenario says.

The connector is the scenario's own, in this process (as in ``c2c
simulate``), or one that runs elsewhere (``connector_url``): then every
webhook is a real signed POST to it (:mod:`simulator.forwarding`), stamped
with the wall clock, since its receiver checks the timestamp against its
own clock.

HTTP faults: an in-process connector meets the scenario's fault plan in its
own transport, as in ``c2c simulate``. An external one meets it in the
served app (:mod:`mocks.core.asgi`): the same plan is asked about each of
its requests and each fault is done for real over the socket (a 5xx, a
real delay, a dropped connection, a kill) and recorded as in process.
Which requests meet which faults depends on the order they arrive in, so
the draws are seeded but not reproducible. At a kill point the app calls
``on_connector_killed`` (the black-box harness kills the connector's
process there) and drops the connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from simpy.core import EmptySchedule, Environment, Infinity
from simpy.rt import RealtimeEnvironment

from mocks.core.asgi import SystemsApp
from mocks.server import SystemsServer
from mocks.systems import Systems
from simulator.faults import FaultPlan
from simulator.forwarding import forward_to
from simulator.run import SimulationResult, simulate
from simulator.scenario import Scenario

MAX_NAP_S = 0.25  # the longest single sleep, so an interrupt is seen quickly


class ServedEnvironment(RealtimeEnvironment):
    """SimPy in real time, ``speed`` simulated seconds per wall second, each step under ``lock``.

    Never strict: when a step's work takes longer than its share of wall
    time, the firm runs late and catches up, instead of failing.
    """

    def __init__(self, speed: float, lock: threading.Lock) -> None:
        super().__init__(factor=1.0 / speed, strict=False)
        self.lock = lock

    def step(self) -> None:
        due = self.peek()
        if due is Infinity:
            raise EmptySchedule
        wall_due = self.real_start + (due - self.env_start) * self.factor
        while (wait := wall_due - time.monotonic()) > 0:
            time.sleep(min(wait, MAX_NAP_S))
        with self.lock:
            Environment.step(self)


def serve(scenario: Scenario, seed: int, speed: float, announce: Callable[[SystemsServer, Systems], None], *,
          host: str = "127.0.0.1", port: int = 0, connector_url: str | None = None,
          progress: Callable[[float], None] | None = None,
          on_connector_killed: Callable[[], None] | None = None) -> SimulationResult:
    """Run ``scenario`` in real time with its systems served on ``host:port``; reconcile at the end.

    ``announce`` is called once the server accepts requests, before the
    firm's first step. The server stops when the run ends (or is
    interrupted). With ``connector_url`` the deliveries go to that
    connector instead of the scenario's, and its requests meet the
    scenario's HTTP faults in the server. ``on_connector_killed`` is called
    at each kill point one of them meets (from the server's thread, without
    the lock; it must not block); without it a kill point only drops that
    request's connection. Either way the kill is recorded.
    """
    lock = threading.Lock()
    env = ServedEnvironment(speed, lock)
    servers: list[SystemsServer] = []

    def started(systems: Systems, faults: FaultPlan) -> None:
        for service in systems.services.values():
            service.keep_time_with(time.time)
        if connector_url is not None:
            for outbox in systems.outboxes.values():
                outbox.timestamp = lambda: int(time.time())
        app = SystemsApp(systems.services, lock, faults=faults if connector_url is not None else None,
                         on_connector_killed=on_connector_killed)
        servers.append(SystemsServer(app, host, port).start())
        env.sync()  # the calendar starts now, not when the environment was made
        announce(servers[0], systems)

    try:
        factory = forward_to(connector_url, lock) if connector_url is not None else None
        return simulate(scenario, seed, env=env, started=started, progress=progress, factory=factory)
    finally:
        for server in servers:
            server.stop()
