"""Runs of the conformance scenarios against the connector under test, each run once per session.

Several requirements read the same scenario (the billing rules all read
``billing.yaml``), so a run is cached by scenario and seed. Besides the
simulation result, an observation keeps what the checks need and the
oracle does not: the faults that fired, the attacks, the webhooks that
failed for good, and which events the connector was sent, when.

A connector that declares it does not support a billing type meets every
scenario without it: the scenario it meets is written next to the report
(``extends:`` the catalog's file, its billing-type mix tagged ``!replace``
so the waived types cannot merge back in), so the reproduction commands
replay exactly what ran.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.catalog import BILLING_TYPE_OF, CATALOG
from conformance.machine_load import MachineLoad
from conformance.subject import Subject
from simulator.business_keys import business_keys, key_of
from simulator.oracle import Mismatch
from simulator.run import SimulationResult, simulate
from simulator.scenario import Faults, Replace, Scenario, dump_scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
ROOT = SCENARIOS.parent.parent
KEPT = frozenset({"fault", "attack", "webhook_failed", "firm_stopped_waiting"})


@dataclass
class Observation:
    scenario_path: Path
    seed: int
    result: SimulationResult
    records: list[dict[str, Any]] = field(default_factory=list)
    offered_per_hour: Counter = field(default_factory=Counter)  # simulated hour -> webhooks first sent in it
    offered: list[str] = field(default_factory=list)  # ids of the events webhooks were sent for, first send order
    throttled_per_hour: Counter = field(default_factory=Counter)  # simulated hour -> 429s answered to the connector

    @cached_property
    def business_keys(self) -> dict[str, str]:
        """Item -> business key in this run, computed once (a companion run is compared with many others)."""
        return business_keys(self.result.systems, self.result.truth)

    def faults(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "fault" and r["fault"] == kind]

    def attacks(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "attack"]

    def stopped_waiting(self) -> dict[str, Any] | None:
        """When a served firm stopped waiting for its black-box connector (its holds used up the run's budget:
        :mod:`simulator.quiescence`), as the trace has it; None if it never did."""
        return next((r for r in self.records if r["kind"] == "firm_stopped_waiting"), None)

    def responses(self, status: int) -> int:
        """How many of the connector's calls got this status."""
        return sum(n for (_, code), n in self.result.api_calls.items() if code == status)


def relative(path: Path) -> str:
    """A path as commands show it: relative to the repository when inside it, so reports do not depend on cwd."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def simulate_command(scenario_path: Path, seed: int, subject: Subject) -> str:
    """The command that runs one scenario against the subject: ``c2c simulate``, or ``c2c serve`` for a
    black-box connector (its interleavings are the wall clock's, so it replays the same faults, not the same
    instants), which writes the run's trace, KPIs and mismatches to ``out/`` as ``c2c simulate`` does."""
    scenario = shlex.quote(relative(scenario_path))
    if subject.command is not None:
        out = shlex.quote(f"out/{scenario_path.stem}-seed{seed}-served")
        return f"c2c serve {scenario} --seed {seed} --connector-cmd {shlex.quote(subject.command)} --out {out}"
    return f"c2c simulate {scenario} --seed {seed} --connector {shlex.quote(subject.spec)}"


def _key(mismatch: Mismatch, keys: dict[str, str]) -> tuple:
    """What makes two runs' mismatches the same one: the same work (its business key) wrong the same way.

    Source ids are assigned in creation order, which faults move, so items
    are matched by business key (:mod:`simulator.business_keys`); ERP
    records, whose ids are the connector's doing, by their values.
    """
    if mismatch.item.startswith("erp:"):
        return mismatch.rule, repr(mismatch.expected), repr(mismatch.actual)
    actual = mismatch.actual
    if isinstance(actual, dict) and set(actual) == {"billed", "held"}:
        actual = actual["billed"] + actual["held"]  # how a capped item splits moves with arrival order; its total not
    return mismatch.rule, key_of(mismatch.item, keys), repr(actual)


def new_mismatches(run: Observation, calm: Observation) -> list[Mismatch]:
    """The mismatches of ``run`` that ``calm`` (the same scenario without faults) does not have."""
    calm_keys, run_keys = calm.business_keys, run.business_keys
    known = Counter(_key(m, calm_keys) for m in calm.result.reconciliation.mismatches)
    new = []
    for mismatch in run.result.reconciliation.mismatches:
        key = _key(mismatch, run_keys)
        if known[key]:
            known[key] -= 1
        else:
            new.append(mismatch)
    return new


Run = Callable[[Scenario, Path, int, Callable[[dict[str, Any]], None]], SimulationResult]
"""(scenario, its file, seed, trace sink) -> the result: how a subject's scenarios are run."""


def in_process(factory: Callable) -> Run:
    return lambda scenario, path, seed, sink: simulate(scenario, seed, sink=sink, factory=factory)


TIMER_BOUND_WALL_S = 1.0
"""The least wall time a black-box run gives a bound its connector meets on its own timers. At a certification's
usual speed (432,000) a simulated day is 0.2 wall seconds, and a connector's process that a busy machine leaves
without a CPU for that long misses a feed poll's deadline for the machine's sake (a 24-hour bound was missed by
3 to 5 hours, about 40 ms, with the load average at 5 on 2 cores): a verdict must not flip between runs."""


def served_speed(scenario: Scenario, path: Path) -> float:
    """The speed a black-box run of the catalog's scenario at ``path`` goes at: :func:`black_box_speed`, but no
    faster than to give each bound its requirements meet on the connector's own timers
    (:attr:`~conformance.catalog.Requirement.timer_bound_h`) :data:`TIMER_BOUND_WALL_S` of wall time. A
    fault-free run (a companion) has nothing to recover on a timer and keeps the usual speed."""
    from simulator.served import black_box_speed

    fastest = black_box_speed(scenario)
    if scenario.faults == Faults():
        return fastest
    bounds = [r.timer_bound_h for r in CATALOG if r.scenario == path.name and r.timer_bound_h is not None]
    return min([fastest, *(hours * 3600 / TIMER_BOUND_WALL_S for hours in bounds)])


def runner(subject: Subject, artifacts: Path, machine_load: MachineLoad | None = None) -> Run:
    """In process for a factory; for a black-box connector, served over real HTTP with the connector's process
    started, killed and restarted on a state directory of its own, its output kept under ``artifacts/connector``,
    and ``machine_load`` sampled after each run."""
    if subject.command is None:
        return in_process(subject.factory)
    from simulator.served import run_black_box

    def served(scenario: Scenario, path: Path, seed: int, sink: Callable[[dict[str, Any]], None]) -> SimulationResult:
        parent = artifacts / "connector"
        parent.mkdir(parents=True, exist_ok=True)
        calm = "-calm" if scenario.faults == Faults() else ""  # a fault-free run: a companion, or a calm scenario
        folder = Path(tempfile.mkdtemp(prefix=f"{scenario.name}{calm}-", dir=parent))  # its own state, always
        try:
            return run_black_box(scenario, seed, subject.command, folder, sink=sink, speed=served_speed(scenario, path))
        finally:
            if machine_load is not None:
                machine_load.sample()
    return served


def observe(scenario: Scenario, scenario_path: Path, seed: int, factory: Callable) -> Observation:
    """One run of ``scenario`` with the connector ``factory`` builds, in process."""
    return observe_with(scenario, scenario_path, seed, in_process(factory))


def observe_with(scenario: Scenario, scenario_path: Path, seed: int, run: Run) -> Observation:
    """One run of ``scenario``, made by ``run``."""
    records: list[dict[str, Any]] = []
    per_hour: Counter = Counter()
    throttled: Counter = Counter()
    sent: dict[str, None] = {}  # an ordered set

    def keep(record: dict[str, Any]) -> None:
        if record["kind"] in KEPT:
            records.append(record)
        elif record["kind"] == "webhook" and record["attempt"] == 1:
            per_hour[int(record["t"] // 3600)] += 1
            if record["id"] not in sent:
                sent[record["id"]] = None
        elif record["kind"] == "api" and record["status"] == 429:
            throttled[int(record["t"] // 3600)] += 1

    result = run(scenario, scenario_path, seed, keep)
    return Observation(scenario_path, seed, result, records, per_hour, list(sent), throttled)


@dataclass(frozen=True)
class LoadTarget:
    """The rate a load requirement is judged at: timesheet approvals a second over real HTTP, for how long, and
    the approval-to-charge p95 it must keep (``--load-rate``, ``--load-duration``)."""

    rate_per_s: float = 20.0
    duration_s: float = 30.0
    p95_s: float = 30.0


class Observations:
    """Every scenario the session needs, run on demand against one subject and one seed."""

    def __init__(self, subject: Subject, seed: int, artifacts: Path, load_target: LoadTarget | None = None) -> None:
        self.subject = subject
        self.load_target = load_target or LoadTarget()
        self._loads: dict[str, Any] = {}  # scenario -> its simulator.load.LoadOutcome
        self.seed = seed
        self.artifacts = artifacts
        self.unsupported = frozenset(BILLING_TYPE_OF[c] for c in BILLING_TYPE_OF if subject.lacks(c))
        # How busy the machine was during the served runs: a black-box verdict is judged on the wall clock.
        self.machine_load = MachineLoad() if subject.black_box else None
        self._run = runner(subject, artifacts, self.machine_load)
        self._runs: dict[str, Observation] = {}
        self._pending: dict[str, Future[Observation | None]] = {}  # runs started by prefetch, not handed out yet
        self.read: list[Observation] = []  # every run handed out since the caller last cleared it, in order

    def _hand_out(self, key: str) -> Observation:
        run = self._runs[key]
        if not any(seen is run for seen in self.read):
            self.read.append(run)
        return run

    def scenario_file(self, name: str) -> Path:
        """The catalog's scenario as this subject meets it: without the billing types it does not support."""
        path = SCENARIOS / name
        if not self.unsupported:
            return path
        mix = load_scenario(path).contracts.billing_types
        if not self.unsupported & set(mix) or not set(mix) - self.unsupported:
            return path
        folder = self.artifacts / "scenarios"
        folder.mkdir(parents=True, exist_ok=True)
        adapted = folder / name
        adapted.write_text(dump_scenario({
            "extends": os.path.relpath(path, folder),
            "contracts": {"billing_types": Replace({k: v for k, v in mix.items() if k not in self.unsupported})},
        }))
        return adapted

    def _job(self, name: str) -> tuple[str, Scenario, Path]:
        path = self.scenario_file(name)
        return name, load_scenario(path), path

    def _control_job(self, name: str) -> tuple[str, Scenario, Path]:
        return _companion(self._job(name))

    def _observed(self, key: str, scenario: Scenario, path: Path) -> Observation:
        if key not in self._runs:
            pending = self._pending.pop(key, None)
            made = pending.result() if pending is not None else None  # None: prefetch left it to be made here
            self._runs[key] = made if made is not None else observe_with(scenario, path, self.seed, self._run)
        return self._hand_out(key)

    def of(self, name: str) -> Observation:
        return self._observed(*self._job(name))

    def loaded(self, name: str) -> tuple[Observation, Any]:
        """The run of ``name`` under a real load (``c2c load``, at :attr:`load_target`) against a black-box
        connector, and its :class:`simulator.load.LoadOutcome`; it stands as the scenario's observation."""
        if name not in self._loads:
            from simulator.load import LoadPlan, run_load
            from simulator.locust_run import LoadProfile

            _, scenario, path = self._job(name)
            target = self.load_target
            plan = LoadPlan(LoadProfile.for_rate(target.rate_per_s, target.duration_s))
            folder = Path(tempfile.mkdtemp(prefix=f"{scenario.name}-", dir=self.artifacts))

            def run(scenario: Scenario, path: Path, seed: int, sink: Callable[[dict[str, Any]], None]) -> SimulationResult:
                try:
                    outcome = run_load(scenario, seed, plan, folder, connector_cmd=self.subject.command, sink=sink)
                finally:
                    if self.machine_load is not None:
                        self.machine_load.sample()
                self._loads[name] = outcome
                return outcome.result
            self._runs[name] = observe_with(scenario, path, self.seed, run)
        return self._hand_out(name), self._loads[name]

    def judged(self) -> list[tuple[str, Observation]]:
        """The scenario runs requirements were judged on so far (not their fault-free companions), by name."""
        return [(name, run) for name, run in sorted(self._runs.items()) if not name.startswith("control:")]

    def control(self, name: str) -> Observation:
        """The same scenario and seed with no faults at all: what the connector does on a good day.

        Scenarios that differ only in their faults share one control run.
        """
        return self._observed(*self._control_job(name))

    def prefetch(self, names: Iterable[str], workers: int) -> None:
        """Start now, on ``workers`` threads, the runs of ``names``; a fault-free companion only where needed.

        For a black-box connector, whose runs mostly wait on the wall clock
        and the connector's process, not on this one's CPU: the runs overlap,
        and :meth:`of` and :meth:`control` wait for the one they need. A
        fault requirement compares a run that has mismatches with its
        scenario's fault-free companion (see
        :func:`conformance.checks.evidence.caused_by_faults`), so the
        companion is run right after its scenario, on the same thread, when
        that run has a mismatch, and not at all otherwise. The runs are the
        ones :meth:`of` and :meth:`control` would make, so the verdict is the
        same. The longest runs start first (:func:`_served_length`), so
        that the longest is not the last to start.
        """
        pool = ThreadPoolExecutor(workers, thread_name_prefix="c2c-run")
        jobs = sorted((self._job(name) for name in dict.fromkeys(names)), key=_served_length, reverse=True)
        for job in jobs:  # the longest first
            companion = _companion(job)
            if job[0] in self._runs or job[0] in self._pending:
                continue
            made: Future[Observation | None] = Future()
            self._pending[job[0]] = made
            later: Future[Observation | None] | None = None
            if companion[0] not in self._runs and companion[0] not in self._pending:
                later = Future()
                self._pending[companion[0]] = later
            pool.submit(self._run_then_companion, job, made, companion, later)
        pool.shutdown(wait=False)

    def _run_then_companion(self, job: tuple[str, Scenario, Path], made: Future[Observation | None],
                            companion: tuple[str, Scenario, Path], later: Future[Observation | None] | None) -> None:
        """``job``'s run into ``made``; then, if it has a mismatch, its companion's into ``later``. A companion not
        made is handed over as None: :meth:`control` makes it, should anything still ask for it."""
        try:
            observation = observe_with(job[1], job[2], self.seed, self._run)
        except BaseException as exc:  # handed to the caller that waits for it
            made.set_exception(exc)
            if later is not None:
                later.set_result(None)
            return
        made.set_result(observation)
        if later is None:
            return
        if not observation.result.reconciliation.mismatches:
            later.set_result(None)
            return
        try:
            later.set_result(observe_with(companion[1], companion[2], self.seed, self._run))
        except BaseException as exc:
            later.set_exception(exc)


def _companion(job: tuple[str, Scenario, Path]) -> tuple[str, Scenario, Path]:
    """A scenario run's fault-free companion: the same scenario without faults; a scenario without faults is its
    own. Scenarios that differ only in their faults share one companion."""
    _, scenario, path = job
    if scenario.faults == Faults():
        return job
    calm = scenario.model_copy(update={"faults": Faults()})
    return "control:" + calm.model_dump_json(exclude={"name", "description"}), calm, path


def _served_length(job: tuple[str, Scenario, Path]) -> tuple[int, int]:
    """What a served run's length follows: the wall time its calendar takes (most take the same), then the
    consultant-days it simulates."""
    _, scenario, path = job
    calendar_s = ((scenario.end - scenario.start).days + scenario.settle_days) * 86400 / served_speed(scenario, path)
    return round(calendar_s), scenario.firm.consultants * (scenario.months * 31 + scenario.settle_days)
