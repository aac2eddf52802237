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
  ``Idempotency-Key`` retention and ``Retry-After``
  (:meth:`mocks.core.service.Service.keep_time_with`), webhook
  timestamps, and the delay of a ``latency`` fault an external connector
  meets;
- a scenario's rate limit is per simulated second, as in ``c2c simulate``
  (the firm is S times faster, so is what its systems admit); the
  ``Retry-After`` of a 429 is converted to wall seconds, rounded down
  (often 0: retry at once), and a request before it has passed is early
  (:meth:`mocks.core.ratelimit.RateLimiter.tell_wait_on`); so is a server
  error's ``Retry-After`` (:class:`WallClockFaults`). With an external
  connector the limit refills on :meth:`ServedEnvironment.paced_now`
  (between events the calendar moves on at its pace; while the firm holds
  for the connector it does not), and while it refuses the connector the
  calendar slows, so the limit refills a token per gap between the
  connector's requests (at least a couple of wall milliseconds): one that
  comes straight back finds a token, whatever its round trip
  (:mod:`simulator.throttled_pace`);
- fault windows and outages are simulated time, as the scenario says.

While the firm hands a webhook to a connector, its step waits for the
answer, and before each step the firm waits until an external connector
is quiet (:mod:`simulator.quiescence`): none of its requests in flight and
none answered (but with a 429) in the last few wall milliseconds. So the
work a connector does inside its webhook handler, or right after it
acknowledges one, takes no simulated time, as in process. What a connector
puts off (a retry after a backoff, the next poll) waits while the calendar
moves on, S simulated seconds per wall second.

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

import dataclasses
import math
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from simpy.core import EmptySchedule, Environment, Infinity
from simpy.rt import RealtimeEnvironment

from mocks.core.asgi import SystemsApp
from mocks.core.faults import HttpFault
from mocks.server import SystemsServer
from mocks.systems import Systems
from simulator.blackbox import ConnectorCommand
from simulator.faults import FaultPlan
from simulator.forwarding import forward_to
from simulator.quiescence import CERTIFICATION_HOLD_BUDGET_S, ConnectorActivity
from simulator.run import SimulationResult, simulate
from simulator.scenario import Scenario
from simulator.throttled_pace import ThrottledPace
from simulator.trace import Sink, TracingTransport, null_sink

MAX_NAP_S = 0.05  # the longest single sleep: an interrupt, or an earlier event a request scheduled, is seen quickly
MAX_CATCH_UP_S = 0.02  # the most wall lateness the firm makes up by racing; beyond it the calendar slips
BLACK_BOX_WALL_S = 20.0  # what a conformance scenario's calendar takes against a black-box connector
# The longest a latency or timeout fault holds a black-box connector's request in a certification run: a real
# delay on the socket, but a scenario's 15-60 s delays, each stalling the firm while the connector waits, would
# make one run last an hour. A slow answer stays a slow answer, a held request stays unanswered and unhandled;
# a connector whose read timeout is shorter still meets it; lost responses are their own fault kind.
CERTIFICATION_DELAY_S = 0.25


class ServedEnvironment(RealtimeEnvironment):
    """SimPy in real time, ``speed`` simulated seconds per wall second, each step under ``lock``.

    Never strict: when a step's work takes longer than its share of wall
    time (or the machine is busy), the firm runs late instead of failing.
    It catches up at most :data:`MAX_CATCH_UP_S` of that lateness and lets
    the calendar slip by the rest: a firm that raced through its late hours
    in a few wall microseconds would give a connector's wall-clock timers
    (a feed poll, a retry) no simulated time to fire in, and judge a
    connector by how busy the machine was. While :meth:`keep_wall_time` is
    on (the load window), records carry the wall clock's time and the firm
    catches up in full.
    """

    def __init__(self, speed: float, lock: threading.Lock) -> None:
        super().__init__(factor=1.0 / speed, strict=False)
        self.lock = lock
        self.hold: Callable[[], float] = lambda: 0.0  # waits while the firm must stand still; returns the wait
        self.pace: Callable[[], float] = lambda: math.inf  # the fastest the calendar may run now (ThrottledPace)
        self._speed = speed  # what set_speed asked for; the pace may hold the calendar slower for a while
        self._running_at = speed  # the speed the calendar runs at now
        self._on_the_wall = False
        self._floor = 0.0
        self._holding_since: float | None = None  # when the current hold for the connector began

    @property
    def now(self) -> float:
        """The current time. Between steps SimPy's clock stands at the last event; while :meth:`keep_wall_time`
        is on it reads the wall clock at the run's pace instead (never earlier than the last event), so records a
        request makes between steps carry the instant it was made, even when the firm's steps fall behind."""
        if self._on_the_wall:
            return max(self._now, self._floor, self._scheduled_at(time.monotonic()))
        return max(self._now, self._floor)

    def _scheduled_at(self, wall: float) -> float:
        """The simulated instant the calendar's wall schedule puts at ``wall`` (a ``time.monotonic()`` reading)."""
        return self.env_start + (wall - self.real_start) / self.factor

    def paced_now(self) -> float:
        """Where the calendar stands on its wall-clock schedule: between two events it moves on at the current
        pace (:attr:`now` stands at the last event until the next is taken), never past the next event, and not
        while the firm holds for the connector. A served system's rate limit refills on it: a connector that
        waits out a 429 on its own timer finds tokens when it comes back, as one that waits on the firm's clock
        does in process, and a connector that keeps the firm holding gets none."""
        at = self._holding_since if self._holding_since is not None else time.monotonic()
        return max(self.now, min(self.peek(), self._scheduled_at(at)))

    def keep_wall_time(self, on: bool) -> None:
        """Read the time off the wall clock (on), or off the events again (off: never earlier than it last read)."""
        if not on:
            self._floor = self.now
        self._on_the_wall = on

    @property
    def speed(self) -> float:
        """The pace the calendar runs at now (the speed asked for, unless the pace holds it slower)."""
        return self._running_at

    def set_speed(self, speed: float) -> None:
        """From now on, ``speed`` simulated seconds per wall second (called between steps, e.g. by a process)."""
        self._speed, self._running_at = speed, min(speed, self.pace())
        self.env_start = self.now
        self.real_start = time.monotonic()
        self._factor = 1.0 / self._running_at  # simpy.rt keeps it read-only: a new speed is a new pace

    def _keep_pace(self) -> None:
        """Run at the speed asked for, or slower while :attr:`pace` says so; a change of pace takes effect from
        where the calendar stands on the wall clock (never past the next event), so no waited time is lost."""
        speed = min(self._speed, self.pace())
        if speed != self.speed:
            self.env_start = max(self.now, min(self._scheduled_at(time.monotonic()), self.peek()))
            self.real_start = time.monotonic()
            self._running_at, self._factor = speed, 1.0 / speed

    def step(self) -> None:
        if self.peek() is Infinity:
            raise EmptySchedule
        self._holding_since = time.monotonic()
        self.real_start += self.hold()  # the calendar stood still meanwhile: it resumes where it was
        self._holding_since = None
        # The next event and the pace are looked up again at every nap: a request may have scheduled an earlier
        # event meanwhile (a webhook to deliver), which must not wait behind a later event of the firm's, and a
        # 429 may have slowed the calendar.
        self._keep_pace()
        while (wait := self.real_start + (self.peek() - self.env_start) * self.factor - time.monotonic()) > 0:
            time.sleep(min(wait, MAX_NAP_S))
            self._keep_pace()
        if -wait > MAX_CATCH_UP_S and not self._on_the_wall:
            self.real_start += -wait - MAX_CATCH_UP_S  # the calendar slips: the rest of the lateness is not raced
        with self.lock:
            Environment.step(self)


@dataclasses.dataclass(frozen=True)
class ServedRun:
    """A served run as it starts, for whoever drives it further (``c2c load`` adds its window to ``env``)."""

    env: ServedEnvironment
    systems: Systems
    server: SystemsServer
    activity: ConnectorActivity | None  # None: the connector is the scenario's own, in this process


class WallClockFaults:
    """The run's fault plan as a served app asks it: a server error's ``Retry-After`` (simulated seconds in the
    scenario) told in wall seconds, ``speed`` times fewer, rounded down; everything else as the plan says."""

    def __init__(self, plan: FaultPlan, speed: float) -> None:
        self.plan = plan
        self.speed = speed

    def http_fault(self, system: str, method: str, path: str) -> HttpFault | None:
        fault = self.plan.http_fault(system, method, path)
        if fault is None or fault.retry_after_s is None:
            return fault
        return dataclasses.replace(fault, retry_after_s=int(fault.retry_after_s / self.speed))

    def dies_after(self, system: str, method: str, path: str, status: int) -> bool:
        return self.plan.dies_after(system, method, path, status)


def serve(scenario: Scenario, seed: int, speed: float, announce: Callable[[SystemsServer, Systems], None], *,
          host: str = "127.0.0.1", port: int = 0, connector_url: str | None = None,
          connector_cmd: str | None = None, work_dir: Path | None = None,
          progress: Callable[[float], None] | None = None,
          on_connector_killed: Callable[[], None] | None = None, sink: Sink = null_sink,
          longest_delay_s: float | None = None,
          on_ready: Callable[[ServedRun], None] | None = None,
          connector_time_scale: float | None = None, hold_budget_s: float | None = None) -> SimulationResult:
    """Run ``scenario`` in real time with its systems served on ``host:port``; reconcile at the end.

    ``announce`` is called once the server accepts requests (and a
    ``connector_cmd`` process answers its health check), before the firm's
    first step. The server stops when the run ends (or is interrupted).

    The connector is the scenario's, in this process, unless one runs
    elsewhere: at ``connector_url``, or started here by ``connector_cmd``
    (:class:`simulator.blackbox.ConnectorCommand`: the black-box contract,
    its state directory and logs under ``work_dir``, killed for real at
    every crash the scenario schedules and at every kill point it meets).
    An external connector's requests meet the scenario's HTTP faults in
    the server and are traced as an in-process connector's calls are.
    ``on_connector_killed`` is called at each kill point one of them meets
    (from the server's thread, without the lock; it must not block);
    without it a kill point only drops that request's connection. Either
    way the kill is recorded. With ``connector_cmd`` the process is killed
    there instead, and its death and restart are traced as the host traces
    the crashes it makes. ``on_ready`` is called after ``announce``, before
    the firm's first step, with what the run is made of.
    ``connector_time_scale`` is the ``C2C_TIME_SCALE`` a ``connector_cmd``
    process is told (default: ``speed``). ``hold_budget_s`` bounds all the
    wall time the firm waits for an external connector in the run
    (:mod:`simulator.quiescence`; unbounded by default); if the holds use it
    up, the trace says when (``firm_stopped_waiting``, with the wall seconds
    held).
    """
    if connector_url is not None and connector_cmd is not None:
        raise ValueError("a served run has one connector: connector_url or connector_cmd, not both")
    lock = threading.Lock()
    env = ServedEnvironment(speed, lock)
    servers: list[SystemsServer] = []
    apps: list[SystemsApp] = []
    command = None

    def run_over() -> None:
        """The host closes the connector: an external one is stopped before the verdict reads the systems."""
        with lock:
            for app in apps:
                app.open = False
        if command is not None:
            command.close()
    if connector_cmd is not None:
        folder = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="c2c-connector-"))
        command = ConnectorCommand(connector_cmd, folder / "state", folder, connector_time_scale or speed, lock)
        command.after_run = run_over
    external = connector_url is not None or command is not None
    activity = ConnectorActivity(budget_s=hold_budget_s) if external else None
    if activity is not None:
        env.hold = activity.await_quiet
    if command is not None:
        command.on_delivered, command.on_delivering = activity.delivered, activity.delivering

    def started(systems: Systems, faults: FaultPlan, calls: TracingTransport) -> None:
        for service in systems.services.values():
            service.keep_time_with(time.time, speed)
        if external:
            limiters = [service.rate_limiter for service in systems.services.values() if service.rate_limiter]
            for limiter in limiters:
                limiter.now = env.paced_now
            env.pace = ThrottledPace(limiters)
            for outbox in systems.outboxes.values():
                outbox.timestamp = lambda: int(time.time())

            def stopped_waiting(held_s: float) -> None:
                with lock:  # told before a step, without the lock
                    calls.trace.record("firm_stopped_waiting", held_s=round(held_s, 1), budget_s=activity.budget_s)

            activity.on_gave_up = stopped_waiting

        def answered(system: str, method: str, path: str, status: int) -> None:
            with lock:  # the trace is the firm's: written between its steps
                calls.record(system, method, path, status, None if status else "RemoteProtocolError")

        killed = on_connector_killed
        if command is not None:  # the trace tells a kill point's death and the restart as the host tells its own
            def killed() -> None:
                with lock:  # traced before the kill, so the watchdog's restart is always traced after it
                    calls.trace.record("connector_crash", how="killed at a kill point")
                command.kill_now()

            def revived() -> None:
                with lock:
                    calls.trace.record("connector_restart", how="restarted after a kill point")
            command.on_revived = revived
            env.hold = lambda: command.await_restart() + activity.await_quiet()
        app = SystemsApp(systems.services, lock, faults=WallClockFaults(faults, speed) if external else None,
                         on_connector_killed=killed, on_answered=answered if external else None,
                         longest_delay_s=longest_delay_s, activity=activity)
        apps.append(app)
        servers.append(SystemsServer(app, host, port).start())
        if command is not None:
            command.launch(servers[0].urls)
        env.sync()  # the calendar starts now, not when the environment was made
        announce(servers[0], systems)
        if on_ready is not None:
            on_ready(ServedRun(env, systems, servers[0], activity))

    try:
        factory = command or (forward_to(connector_url, lock, run_over, activity.delivered, activity.delivering)
                              if connector_url is not None else None)
        return simulate(scenario, seed, env=env, started=started, progress=progress, factory=factory, sink=sink)
    finally:
        if command is not None:
            command.close()
        for server in servers:
            server.stop()


def black_box_speed(scenario: Scenario, wall_s: float = BLACK_BOX_WALL_S) -> float:
    """The speed at which ``scenario``'s calendar (its months and settling days) takes about ``wall_s`` wall
    seconds, and never slower than a simulated day per wall second."""
    span_s = ((scenario.end - scenario.start).days + scenario.settle_days) * 86400
    return max(86400.0, span_s / wall_s)


def run_black_box(scenario: Scenario, seed: int, command: str, work_dir: Path, *, sink: Sink = null_sink,
                  speed: float | None = None) -> SimulationResult:
    """One served run of ``scenario`` against the connector ``command`` starts, for the conformance suite: on a
    free port, at :func:`black_box_speed` unless ``speed`` is given, its state and logs under ``work_dir``,
    latency and timeout faults held at most :data:`CERTIFICATION_DELAY_S`, and the firm waiting for the
    connector at most :data:`simulator.quiescence.CERTIFICATION_HOLD_BUDGET_S` in all."""
    return serve(scenario, seed, speed or black_box_speed(scenario), lambda server, systems: None,
                 connector_cmd=command, work_dir=work_dir, sink=sink, longest_delay_s=CERTIFICATION_DELAY_S,
                 hold_budget_s=CERTIFICATION_HOLD_BUDGET_S)
