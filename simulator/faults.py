"""The fault plan of one run: the scenario's ``faults:`` section, made concrete.

Every decision draws from the run's seeded streams (one per rule), so the
same scenario and seed meet the same faults at the same calls. Every fault
that fires is written to the trace (kind ``fault``) and counted, so a run
shows what it survived.
"""

from __future__ import annotations

from collections import Counter

import httpx

from mocks.core.clock import Clock
from mocks.core.faults import OUTAGE, HttpFault
from simulator.scenario import Faults
from simulator.streams import Streams
from simulator.trace import Trace


class FaultPlan:
    def __init__(self, faults: Faults, streams: Streams, clock: Clock, trace: Trace) -> None:
        self.faults = faults
        self.clock = clock
        self.trace = trace
        self.counts: Counter[str] = Counter()
        self._rules = [(rule, streams.get("faults", "http", str(i))) for i, rule in enumerate(faults.http)]
        self._outages = [(o.system, o.start.timestamp(), o.start.timestamp() + o.hours * 3600) for o in faults.outages]

    def fire(self, kind: str, **where) -> None:
        self.counts[kind] += 1
        self.trace.record("fault", fault=kind, **where)

    def http_fault(self, system: str, request: httpx.Request) -> HttpFault | None:
        now = self.clock.now()
        path = request.url.path
        for down, start, end in self._outages:
            if down == system and start <= now < end:
                self.fire(OUTAGE, system=system, method=request.method, path=path)
                return HttpFault(OUTAGE, 503)
        for rule, rng in self._rules:
            if system not in rule.systems or request.method not in rule.methods:
                continue
            if rule.paths and not any(path.startswith(prefix) for prefix in rule.paths):
                continue
            if rng.random() < rule.rate:
                self.fire(rule.kind, system=system, method=request.method, path=path)
                return HttpFault(rule.kind, rule.status)
        return None
