"""``c2c load``: the integration under real HTTP load, and reconciled after it.

One run, in three acts, all in one served run of the scenario
(:func:`simulator.served.serve`), with the connector under test as a
process (the reference, ``python -m reference_impl``, unless a command is
given):

1. **The firm is prepared**, fast: its calendar runs compressed until
   :attr:`LoadPlan.opens_after_days` (10:00 on the next working day): the
   contracts are signed, the connector sets up their projects, the firm
   staffs them. As in any compressed served run, the firm waits while the
   connector works (:mod:`simulator.quiescence`).
2. **The load window**: the calendar slows to real time (one simulated
   second per wall second) and every timestamp the systems write is read
   off the wall clock (:meth:`ServedEnvironment.keep_wall_time`), even when
   the firm's own steps (webhook deliveries among them) fall behind the
   load; the firm no longer waits for the connector: its work
   takes the time it takes. Locust runs headless, as a subprocess
   (:mod:`simulator.locust_run`), against a second server over the same
   systems (the people's door: not traced as the connector's calls, never
   faulted), playing consultants, managers and a finance clerk
   (``loadtests/end_to_end.py``, or any locustfile). When it ends, the
   connector drains: the window stays open until it has been idle for
   :data:`DRAINED_AFTER_S` (at most :attr:`LoadPlan.drain_s`).
3. **The rest of the calendar**, fast again: the month-end billing run,
   the payments, the settling days; then the oracle reconciles the ERP
   against the firm's ground truth, as after any run.

The verdict is the oracle's: a load run that ends with money lost or
billed twice fails, however good its latency. Lag from each approval in
the window to its first ERP charge is read from the systems' records
(:mod:`simulator.approval_lag`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocks.core.asgi import SystemsApp
from mocks.core.clock import iso, timestamp
from mocks.server import SystemsServer
from simulator.approval_lag import approval_lags, lag_summary
from simulator.forwarding import released
from simulator.kpis import epoch_seconds
from simulator.locust_run import LoadProfile, LocustRun, LocustTotals
from simulator.run import SimulationResult
from simulator.scenario import Scenario
from simulator.served import ServedRun, black_box_speed, serve
from simulator.trace import Sink, null_sink

SCHEMA_VERSION = "1.0"
REPOSITORY = Path(__file__).resolve().parent.parent
END_TO_END = REPOSITORY / "loadtests" / "end_to_end.py"
REFERENCE_COMMAND = f"{sys.executable} -m reference_impl"
OPENS_AT_HOUR = 10.0
DRAINED_AFTER_S = 2.0  # the connector is drained once it has been idle this long (wall seconds)
POLL_S = 0.25
PREPARED_WALL_S = 20.0  # the calendar outside the window takes about this long (wall seconds)


@dataclass(frozen=True)
class LoadPlan:
    profile: LoadProfile
    locustfile: Path = END_TO_END
    workers: int = 0
    remote_workers: int = 0  # workers started by hand on other machines, which the master waits for
    master_bind: tuple[str, int] | None = None
    opens_after_days: int = 19  # a week is too soon: contracts are signed, then teams start on their start date
    drain_s: float = 60.0


@dataclass
class LoadWindow:
    """When the load ran (the firm's epoch seconds, which are wall seconds inside the window) and who ran it."""

    opened_s: float | None = None
    locust_ended_s: float | None = None
    drained_s: float | None = None
    locust: LocustRun | None = None
    locust_status: int | None = None
    drained: bool = False

    @property
    def ran(self) -> bool:
        return self.drained_s is not None


@dataclass
class LoadOutcome:
    result: SimulationResult
    window: LoadWindow
    totals: LocustTotals | None
    lag: dict[str, Any] = field(default_factory=dict)

    @property
    def reconciled(self) -> bool:
        return self.result.reconciliation.ok

    def approvals_per_s(self) -> float:
        """Timesheet approvals a second in the window, billable or not (what the load offered the PSA).

        Measured over the span the approvals themselves cover (first to last), not over the locust process's
        life: its start-up and shutdown (a second or more on a busy machine) offer no load, and counting them
        would judge a connector on how fast locust imports.
        """
        w = self.window
        if w.opened_s is None or w.locust_ended_s is None:
            return 0.0
        made = sorted(seconds for a in self.result.systems.psa.approvals if a["kind"] == "timesheet"
                      and w.opened_s <= (seconds := epoch_seconds(a["approved_at"])) < w.locust_ended_s)
        span = made[-1] - made[0] if len(made) > 1 else 0.0
        return round((len(made) - 1) / span, 2) if span > 0 else 0.0

    def to_json(self, scenario: Scenario, seed: int, plan: LoadPlan, connector: str) -> dict[str, Any]:
        w, t = self.window, self.totals
        recon = self.result.reconciliation
        return {
            "schema_version": SCHEMA_VERSION,
            "scenario": scenario.name, "seed": seed, "connector": connector,
            "locustfile": str(plan.locustfile), "workers": plan.workers,
            "profile": dataclasses.asdict(plan.profile),
            "window": {"opened": iso(w.opened_s) if w.opened_s else None,
                       "locust_ended": iso(w.locust_ended_s) if w.locust_ended_s else None,
                       "drained": iso(w.drained_s) if w.drained_s else None,
                       "connector_drained": w.drained, "locust_exit_status": w.locust_status},
            "locust": dataclasses.asdict(t) if t is not None else None,
            "approvals_per_s": self.approvals_per_s(),
            "approval_to_charge_lag": self.lag,
            "reconciliation": {"items_checked": recon.items_checked, "mismatches": len(recon.mismatches)},
            "verdict": "pass" if self.reconciled and t is not None and t.requests else "fail",
        }


def spans(profile: LoadProfile, window_s: float) -> int:
    """How many spans the lag's growth is read in: as many as a step profile's steps fit in the window, else six."""
    if profile.shape == "step":
        return max(1, math.ceil(window_s / profile.step_s))
    return 6


def opening(scenario: Scenario, after_days: int) -> float:
    """The firm's epoch second the window opens: 10:00 on the first working day ``after_days`` in."""
    day = scenario.start + dt.timedelta(days=after_days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    if day >= scenario.end:
        raise ValueError(f"the load window opens on {day}, after the scenario's calendar ends ({scenario.end}); "
                         "give the scenario more months or open the window sooner")
    return timestamp(day, OPENS_AT_HOUR)


def load_window(run: ServedRun, plan: LoadPlan, window: LoadWindow, opens_s: float, fast_speed: float,
                start_locust: Callable[[str, str], LocustRun]):
    """The SimPy process of the window: real time, locust, the drain, then fast again."""
    env, clock, activity = run.env, run.systems.psa.clock, run.activity
    yield env.timeout(max(0.0, opens_s - clock.now()))
    env.set_speed(1.0)
    env.keep_wall_time(True)  # timestamps are the wall clock's even when the firm's steps fall behind the load
    if activity is not None:
        activity.holding = False
    people = SystemsServer(SystemsApp(run.systems.services, env.lock), run.server.host).start()
    try:
        window.opened_s = clock.now()
        window.locust = start_locust(people.base_url, dt.datetime.fromtimestamp(clock.now(), dt.UTC).date().isoformat())
        while not window.locust.done():
            yield env.timeout(POLL_S)
        window.locust_ended_s = clock.now()
        deadline = clock.now() + plan.drain_s
        while clock.now() < deadline:
            if activity is None or activity.idle_for() >= DRAINED_AFTER_S:
                window.drained = True
                break
            yield env.timeout(POLL_S)
        window.drained_s = clock.now()
    finally:
        with released(env.lock):  # the people's server finishes its requests, which take the lock
            people.stop()
            if window.locust is not None:
                window.locust_status = window.locust.stop()
    env.keep_wall_time(False)
    env.set_speed(fast_speed)
    if activity is not None:
        activity.holding = True


def run_load(scenario: Scenario, seed: int, plan: LoadPlan, out_dir: Path, *, connector_cmd: str = REFERENCE_COMMAND,
             sink: Sink = null_sink, announce: Callable[[Any, Any], None] = lambda server, systems: None,
             progress: Callable[[float], None] | None = None,
             on_locust: Callable[[LocustRun], None] = lambda locust: None) -> LoadOutcome:
    """Prepare the firm, load it through locust for the plan's profile, drain, finish the calendar, reconcile."""
    opens_s = opening(scenario, plan.opens_after_days)
    fast = black_box_speed(scenario, PREPARED_WALL_S)
    window = LoadWindow()
    credentials: dict[str, str] = {}

    def remember(server: Any, systems: Any) -> None:
        credentials.update(C2C_CLIENT_ID=systems.credentials.client_id,
                           C2C_CLIENT_SECRET=systems.credentials.client_secret)
        announce(server, systems)

    def start_locust(host: str, day: str) -> LocustRun:
        locust = LocustRun(plan.locustfile, host, plan.profile, out_dir / "locust", workers=plan.workers,
                           environment={**credentials, "C2C_LOAD_DAY": day}, remote_workers=plan.remote_workers,
                           master_bind=plan.master_bind).start()
        on_locust(locust)
        return locust

    def on_ready(run: ServedRun) -> None:
        run.env.process(load_window(run, plan, window, opens_s, fast, start_locust))

    work_dir = out_dir / "connector"
    shutil.rmtree(work_dir, ignore_errors=True)  # a state directory belongs to one set of systems: never reuse it
    result = serve(scenario, seed, fast, remember, connector_cmd=connector_cmd, work_dir=work_dir,
                   sink=sink, progress=progress, on_ready=on_ready, connector_time_scale=1.0)
    if window.locust is not None and window.locust_status is None:
        window.locust_status = window.locust.stop()
    totals = window.locust.totals() if window.locust is not None else None
    outcome = LoadOutcome(result, window, totals)
    if window.opened_s is not None and window.locust_ended_s is not None:
        lags = approval_lags(result.systems, window.opened_s, window.locust_ended_s, window.drained_s)
        buckets = spans(plan.profile, window.locust_ended_s - window.opened_s)
        outcome.lag = lag_summary(lags, window.opened_s, window.locust_ended_s, buckets=buckets)
        if plan.profile.shape != "step":  # a knee is read off climbing steps; a steady load has none
            outcome.lag["knee_approvals_per_s"] = None
    return outcome
