"""One simulation run: the firm, the mocks and a connector, then the verdict.

:func:`simulate` is pure: same scenario and seed give the same result, the
same trace records and the same KPIs. It reads no wall clock and writes no
file; callers pass a trace sink and a progress callback if they want them.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import simpy
from faker import Faker

from mocks.core.faults import FaultTransport
from mocks.core.ratelimit import RateLimiter
from mocks.core.transport import InProcessTransport
from mocks.systems import Systems, build_systems
from simulator.contract import ConnectorFactory, Storage
from simulator.courier import Courier
from simulator.faults import FaultPlan
from simulator.firm.context import DAY, FirmContext, SimClock
from simulator.firm.delivery import consultant_weeks, hire, watch_psa
from simulator.firm.drift import watch_billing_runs
from simulator.firm.finance import month_ends, watch_erp
from simulator.firm.sales import account_updates, leads, sales
from simulator.heap import SettledHeap
from simulator.host import ConnectorFault, ConnectorHost
from simulator.kpis import build_kpis
from simulator.oracle import Reconciliation, reconcile
from simulator.runtime import load_factory
from simulator.scenario import Scenario
from simulator.storage import MemoryStorage, SqliteStorage
from simulator.streams import Streams
from simulator.sync_lag import Disruption, SyncRecords
from simulator.sync_watch import SyncWatch
from simulator.timed_faults import Run, schedule
from simulator.trace import Sink, Trace, TracingTransport, null_sink, trace_billing
from simulator.truth import GroundTruth


@dataclass
class SimulationResult:
    scenario: Scenario
    seed: int
    systems: Systems
    reconciliation: Reconciliation
    kpis: dict[str, Any]
    api_calls: Counter
    trace_counts: Counter
    connector_errors: list[str]
    connector_faults: tuple[ConnectorFault, ...] = field(default=(), kw_only=True)  # per kind, first one in full
    fault_counts: Counter
    connector_storage: Any
    truth: GroundTruth
    sync: SyncRecords = field(default_factory=SyncRecords, kw_only=True)  # what simulator.sync_lag measures

    @property
    def total_api_calls(self) -> int:
        return sum(self.api_calls.values())


def connector_storage(scenario: Scenario) -> Storage:
    """In memory, unless the connector will crash: then a real SQLite file, removed with the storage object."""
    crashes = scenario.faults.crashes
    if not (crashes.every_hours or crashes.kill_points or crashes.downtime):
        return MemoryStorage()
    folder = tempfile.mkdtemp(prefix="c2c-connector-")
    storage = SqliteStorage(Path(folder) / "state.sqlite")
    weakref.finalize(storage, shutil.rmtree, folder, True)
    return storage


def simulate(scenario: Scenario, seed: int, *, sink: Sink = null_sink,
             progress: Callable[[float], None] | None = None,
             factory: ConnectorFactory | None = None,
             storage: Storage | None = None,
             env: simpy.Environment | None = None,
             started: Callable[[Systems, FaultPlan, TracingTransport], None] | None = None) -> SimulationResult:
    """Run ``scenario`` with ``seed`` to its end and reconcile.

    ``env`` is the SimPy environment to run in (a fresh one by default; served mode passes a real-time
    one), and ``started`` is called with the systems, the run's fault plan and the recorder of the connector's
    calls once the firm is set up, before its first step (served mode serves the systems, and puts the plan in
    front of an external connector's requests and records them).
    """
    env = env if env is not None else simpy.Environment()
    clock = SimClock(env, scenario.start)
    streams = Streams(seed)
    systems = build_systems(clock, dict(scenario.customers.tax_jurisdictions), seed, scenario.faults.feed_retention)
    for entity in scenario.legal_entities:
        systems.erp.add_legal_entity(entity.id, entity.name, entity.currency, entity.invoice_prefix)
    outages = [Disruption("outage", o.start.timestamp(), o.start.timestamp() + o.hours * 3600, f"{o.system} outage")
               for o in scenario.faults.outages]
    watch = SyncWatch(systems, clock, outages)
    trace = Trace(clock, watch.tee(sink))
    trace_billing(trace, systems.erp)
    for backend in systems.backends.values():
        backend.feed.subscribe(trace.business_event)
    system_of_host = systems.system_of_host
    faults = FaultPlan(scenario.faults, streams, clock, trace, systems)
    for name, limit in scenario.faults.rate_limits.items():
        systems.services[name].rate_limiter = RateLimiter(clock.now, limit.per_second, limit.burst)
    transport = TracingTransport(FaultTransport(InProcessTransport(systems.services_by_host), system_of_host, faults),
                                 trace, system_of_host)
    host = ConnectorHost(env, clock, systems, transport, factory or load_factory(scenario.connector),
                         streams.get("connector"), trace, storage if storage is not None else connector_storage(scenario))
    couriers = [Courier(env, outbox, host.receive, trace, host.record_error, host.subscribed, faults)
                for outbox in systems.outboxes.values()]

    faker = Faker("en_US")
    faker.seed_instance(streams.derive_int("faker"))
    ctx = FirmContext(env, clock, scenario, systems, streams, faker, faults=faults)
    hire(ctx)
    systems.psa.feed.subscribe(lambda event: watch_psa(ctx, event))
    systems.erp.feed.subscribe(lambda event: watch_erp(ctx, event))
    if scenario.faults.drift.manual_reversals > 0:
        systems.erp.feed.subscribe(lambda event: watch_billing_runs(ctx, event))
    env.process(sales(ctx))
    env.process(leads(ctx))
    env.process(month_ends(ctx))
    env.process(account_updates(ctx))
    for consultant in ctx.consultants:
        env.process(consultant_weeks(ctx, consultant))

    finish = ctx.horizon + scenario.settle_days * DAY
    schedule(Run(env, clock.epoch, ctx.horizon, scenario, faults, host, couriers, systems))
    if started is not None:
        started(systems, faults, transport)
    with SettledHeap() as heap:
        while env.now < finish:
            env.run(until=min(finish, env.now + DAY))
            heap.settle()  # what lived through the day is out of the garbage collector's way from here on
            if progress is not None:
                progress(env.now / finish)
        host.close()
        return _verdict(scenario, seed, systems, ctx, host, couriers, transport, trace, faults, watch)


def _verdict(scenario: Scenario, seed: int, systems: Systems, ctx: FirmContext, host: ConnectorHost,
             couriers: list[Courier], transport: TracingTransport, trace: Trace, faults: FaultPlan,
             watch: SyncWatch) -> SimulationResult:
    """The ended run's reconciliation and KPIs."""
    reconciliation = reconcile(systems, ctx.truth)
    webhooks: Counter = Counter()
    for courier in couriers:
        webhooks.update(courier.stats)
    kpis = build_kpis(
        scenario_name=scenario.name, seed=seed, start=scenario.start, end=scenario.end, systems=systems,
        reconciliation=reconciliation, truth=ctx.truth, calls=transport.calls, webhooks=webhooks,
        wip=ctx.observations.get("unbilled_wip", []), consultants=len(ctx.consultants),
        connector_errors=len(host.errors),
    )
    kpis["connector_errors_by_kind"] = {str(kind): fault.count for kind, fault in sorted(host.faults.items())}
    return SimulationResult(scenario, seed, systems, reconciliation, kpis, transport.calls, trace.counts,
                            host.errors, faults.counts, host.storage, ctx.truth,
                            connector_faults=tuple(host.faults.values()), sync=watch.finish())
