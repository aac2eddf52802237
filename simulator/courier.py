"""At-least-once webhook delivery in simulated time.

Every queued event is sent after a fixed network latency (plus any delay
the fault plan adds; a dropped event is never sent, a duplicated one is
sent again 5 s later, as a sender that missed the first 200 does), each
on its own SimPy process, so a burst (billing day) is not serialised
behind one slow receiver; with equal latencies SimPy fires them in queue order, so the
schedule is deterministic. A delivery the connector does not answer with
2xx (or that raises) is retried on the Standard Webhooks schedule and
re-signed with a fresh timestamp each time; after the last attempt it is
recorded as failed, which is what the change feed is for.

Attacks (``faults.webhooks.attacks``) come from someone other than the
sender: a message for a new event id signed with a guessed key, and a
captured message replayed unchanged, once after each of
``faults.webhooks.replay_after_seconds``. A replay is the captured bytes:
it carries the timestamp it was signed with, so its age (``age_s`` in its
``attack`` trace record) is how late it is resent; no replay can carry a
timestamp from the future, since re-signing needs the key (that is a
forged message). Attacks are never retried; the courier counts what the
connector answered (``forged_accepted``, ``replayed_rejected``...) and
traces each answer, which is what the SEC conformance checks read.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

import simpy

from mocks.core.feed import ChangeEvent
from mocks.core.webhooks import Delivery, Outbox, make_secret, sign
from simulator.faults import ON_TIME, FaultPlan
from simulator.trace import Trace

RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
LATENCY_S = 1.0
ATTACKER_KEY = make_secret("an attacker's guess")


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
            for copy in range(fate.copies):  # a resend comes after the sender's first retry delay
                self.env.process(self._deliver(event, fate.extra_delay_s + copy * RETRY_SCHEDULE_S[0]))

    def _attempt(self, event: ChangeEvent, attempt: int) -> bool:
        delivery = self.outbox.sign(event)
        if attempt == 1 and self._faults is not None and self._faults.attacked(event):
            self.env.process(self._attack(delivery))
        if self._faults is not None and self._faults.endpoint_down():
            status = 503  # the connector's endpoint is unreachable: nothing reaches it
            self._faults.fire("endpoint_down", system=event.system, event=event.id, attempt=attempt)
        else:
            status = self._send(delivery)
        self.stats["attempts"] += 1
        self.trace.record("webhook", system=delivery.system, id=event.id, type=event.type,
                          attempt=attempt, status=status)
        acknowledged = 200 <= status < 300
        if acknowledged and self._faults is not None:
            self._faults.acknowledged(event, attempt)
        return acknowledged

    def redeliver_all(self, events: list[ChangeEvent]) -> None:
        """Send each subscribed event again, in feed order, with no fault: a sender's "resend all"."""
        self.stats["redelivered"] += sum(1 for event in events if self._subscribed(event.type))
        for event in events:
            if self._subscribed(event.type):
                self.env.process(self._deliver(event))

    def _send(self, delivery: Delivery) -> int:
        try:
            return self._receive(delivery)
        except Exception as exc:  # the connector blew up on this delivery: the sender sees a 500
            self._on_error(exc)
            return 500

    def _attack(self, captured: Delivery):
        """A forged message now, and ``captured`` replayed byte for byte at each age, youngest first."""
        event = dataclasses.replace(captured.event, id=f"{captured.event.id}-forged")
        timestamp = captured.headers["webhook-timestamp"]
        forged = Delivery(captured.system, event, {
            **captured.headers, "webhook-id": event.id,
            "webhook-signature": sign(ATTACKER_KEY, event.id, int(timestamp), captured.body)}, captured.body)
        self._answer_attack("forged", forged)
        waited = 0.0
        for age in sorted(self._faults.faults.webhooks.replay_after_seconds):
            yield self.env.timeout(age - waited)
            waited = age
            self._answer_attack("replayed", self._aged(captured, age), age_s=age)

    def _aged(self, captured: Delivery, age: float) -> Delivery:
        """``captured`` as it reaches the connector ``age`` seconds after it was signed.

        In process the outbox stamps simulated time, the clock that waited
        ``age``: the replay is the captured bytes. In served mode it stamps
        the wall clock, which ran ``age`` / speed seconds meanwhile: the
        replay is then the same message as signed ``age`` wall seconds ago,
        what an attacker holding a capture that old sends.
        """
        signed_at = int(captured.headers["webhook-timestamp"])
        now = self.outbox.timestamp()
        if now - signed_at >= age:
            return captured
        stamp = int(now - age)
        return Delivery(captured.system, captured.event, {
            **captured.headers, "webhook-timestamp": str(stamp),
            "webhook-signature": sign(self.outbox.secret, captured.headers["webhook-id"], stamp, captured.body)},
            captured.body)

    def _answer_attack(self, kind: str, delivery: Delivery, **where: float) -> None:
        status = self._send(delivery)
        verdict = "rejected" if 400 <= status < 500 else "accepted" if 200 <= status < 300 else "errored"
        self.stats[f"{kind}_{verdict}"] += 1
        self.trace.record("attack", system=delivery.system, attack=kind, id=delivery.headers["webhook-id"],
                          type=delivery.event.type, status=status, **where)

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
            self.trace.record("webhook_failed", system=event.system, id=event.id, type=event.type,
                              entity=event.entity_id, version=event.version)
