"""At-least-once webhook delivery in simulated time.

Every queued event is sent after a fixed network latency (plus any delay
the fault plan adds; a dropped event is never sent, a duplicated one is
sent twice), each on its own SimPy process, so a burst (billing day) is not serialised behind one slow
receiver; with equal latencies SimPy fires them in queue order, so the
schedule is deterministic. A delivery the connector does not answer with
2xx (or that raises) is retried on the Standard Webhooks schedule and
re-signed with a fresh timestamp each time; after the last attempt it is
recorded as failed, which is what the change feed is for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import simpy

from mocks.core.feed import ChangeEvent
from mocks.core.webhooks import Delivery, Outbox
from simulator.faults import ON_TIME, FaultPlan
from simulator.trace import Trace

RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
LATENCY_S = 1.0


class Courier:
    def __init__(self, env: simpy.Environment, outbox: Outbox, receive: Callable[[Delivery], int], trace: Trace,
                 on_error: Callable[[BaseException], None],
                 subscribed: Callable[[str], bool] = lambda event_type: True,
                 faults: FaultPlan | None = None) -> None:
        self.env = env
        self.outbox = outbox
        self._receive = receive
        self._subscribed = subscribed
        self._faults = faults
        self.trace = trace
        self._on_error = on_error
        self.stats: Counter[str] = Counter()
        self.in_flight = 0
        outbox.on_delivery(self._dispatch)

    def _dispatch(self) -> None:
        while self.outbox.pending:
            event = self.outbox.pending.popleft()
            if not self._subscribed(event.type):  # like a webhook endpoint's event-type filter
                continue
            fate = self._faults.delivery_fate(event) if self._faults else ON_TIME
            if fate.dropped:
                self.stats["dropped"] += 1
                continue
            for _ in range(fate.copies):
                self.in_flight += 1
                self.env.process(self._deliver(event, fate.extra_delay_s))

    def _attempt(self, event: ChangeEvent, attempt: int) -> bool:
        delivery = self.outbox.sign(event)
        if self._faults is not None and self._faults.endpoint_down():
            status = 503  # the connector's endpoint is unreachable: nothing reaches it
            self._faults.fire("endpoint_down", system=event.system, event=event.id, attempt=attempt)
        else:
            try:
                status = self._receive(delivery)
            except Exception as exc:  # the connector blew up on this delivery: the sender sees a 500
                self._on_error(exc)
                status = 500
        self.stats["attempts"] += 1
        self.trace.record("webhook", system=delivery.system, id=event.id, type=event.type,
                          attempt=attempt, status=status)
        return 200 <= status < 300

    def _deliver(self, event: ChangeEvent, extra_delay_s: float = 0.0):
        yield self.env.timeout(LATENCY_S + extra_delay_s)
        ok = self._attempt(event, 1)
        for attempt, delay in enumerate(RETRY_SCHEDULE_S, start=2):
            if ok:
                break
            self.stats["retries"] += 1
            yield self.env.timeout(delay)
            ok = self._attempt(event, attempt)
        self.stats["delivered" if ok else "failed"] += 1
        if not ok:
            self.trace.record("webhook_failed", system=event.system, id=event.id, type=event.type)
        self.in_flight -= 1
