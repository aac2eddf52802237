"""The fault plan of one run: the scenario's ``faults:`` section, made concrete.

Every decision draws from the run's seeded streams (one per rule), so the
same scenario and seed meet the same faults at the same calls. Every fault
that fires is written to the trace (kind ``fault``) and counted, so a run
shows what it survived.

The HTTP questions (:meth:`FaultPlan.http_fault`, :meth:`FaultPlan.dies_after`)
name a request by system, method and path only, so whichever layer carries
the connector's requests asks the same plan: the in-process fault transport
(``c2c simulate``), or the served ASGI app for a connector in another
process (``c2c serve --connector-url``, :mod:`mocks.core.asgi`). Over real
HTTP the draws are the same streams, but the order requests arrive in is
not reproducible, so neither are the faults they meet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mocks.core.clock import Clock
from mocks.core.faults import LATENCY, OUTAGE, PROCESS_KILLED, HttpFault
from mocks.core.feed import ChangeEvent
from mocks.systems import Systems
from simulator.scenario import CONCURRENT_EDIT, Faults
from simulator.streams import Streams
from simulator.trace import Trace

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_PATH = "/oauth/token"


def is_write(method: str, path: str) -> bool:
    """A request that changes a system's records: a POST, PUT, PATCH or DELETE, except asking for a token."""
    return method in WRITE_METHODS and not path.endswith(TOKEN_PATH)


@dataclass(frozen=True)
class DeliveryFate:
    """What happens to one webhook delivery: dropped, or sent ``copies`` times after ``extra_delay_s``."""

    dropped: bool = False
    copies: int = 1
    extra_delay_s: float = 0.0


ON_TIME = DeliveryFate()


class FaultPlan:
    def __init__(self, faults: Faults, streams: Streams, clock: Clock, trace: Trace, systems: Systems) -> None:
        self.faults = faults
        self.systems = systems
        self.clock = clock
        self.trace = trace
        self.counts: Counter[str] = Counter()
        self._rules = [(rule, streams.get("faults", "http", str(i)),
                        [(w.start.timestamp(), w.start.timestamp() + w.hours * 3600) for w in rule.windows])
                       for i, rule in enumerate(faults.http)]
        self._fired_by_rule = [0] * len(self._rules)
        self._outages = [(o.system, o.start.timestamp(), o.start.timestamp() + o.hours * 3600) for o in faults.outages]
        self._webhooks = faults.webhooks
        self._delivery_rng = streams.get("faults", "webhooks")
        self._scripted = {entry.event: entry for entry in faults.webhooks.script}
        self._attack_rng = streams.get("faults", "attacks")
        self._endpoint_down = [(w.start.timestamp(), w.start.timestamp() + w.hours * 3600)
                               for w in faults.webhooks.endpoint_down]
        self._kill_at = frozenset(faults.crashes.at_calls)
        self._kill_after_writes = frozenset(faults.crashes.after_writes)
        self._kill_after_acks = frozenset(faults.crashes.after_acks)
        self._calls = self._writes = self._acks = 0
        self._armed: dict[str, object] | None = None  # the acknowledgement whose next request the process dies at
        self._crash_rng = streams.get("faults", "crashes")
        self._revocation_rng = streams.get("faults", "tokens")

    def crash_instants(self, start: float, end: float) -> list[float]:
        """Unix times in [start, end) at which the connector process dies (``crashes.every_hours``)."""
        every = self.faults.crashes.every_hours
        if every is None:
            return []
        instants, t = [], start
        while True:
            t += self._crash_rng.uniform(*every) * 3600
            if t >= end:
                return instants
            instants.append(t)

    def delivery_fate(self, event: ChangeEvent) -> DeliveryFate:
        """Drawn once per event, in the order events are queued: the same seed, the same fates.

        A scripted event meets its scripted fate and draws nothing, so the
        script changes no other event's fate.
        """
        plan, rng = self._webhooks, self._delivery_rng
        where = {"system": event.system, "event": event.id, "type": event.type, "entity": event.entity_id,
                 "version": event.version}
        scripted = self._scripted.get(event.id)
        if scripted is not None:
            if scripted.drop:
                self.fire("webhook_drop", scripted=True, **where)
                return DeliveryFate(dropped=True)
            if scripted.copies > 1:
                self.fire("webhook_duplicate", scripted=True, copies=scripted.copies, **where)
            if scripted.delay_seconds:
                self.fire("webhook_delay", scripted=True, seconds=scripted.delay_seconds, **where)
            return DeliveryFate(False, scripted.copies, scripted.delay_seconds)
        if not (plan.drop or plan.duplicate or plan.delay):
            return ON_TIME
        roll_drop, roll_dup, roll_delay, spread = rng.random(), rng.random(), rng.random(), rng.random()
        if roll_drop < plan.drop:
            self.fire("webhook_drop", **where)
            return DeliveryFate(dropped=True)
        copies = 2 if roll_dup < plan.duplicate else 1
        if copies == 2:
            self.fire("webhook_duplicate", **where)
        extra = 0.0
        if roll_delay < plan.delay:
            low, high = plan.delay_seconds
            extra = low + (high - low) * spread
            self.fire("webhook_delay", seconds=round(extra, 3), **where)
        return DeliveryFate(False, copies, extra)

    def attacked(self, event: ChangeEvent) -> bool:
        """Whether an attacker forges and replays this event's message (its own stream: no other fate moves)."""
        return bool(self._webhooks.attacks) and self._attack_rng.random() < self._webhooks.attacks

    def endpoint_down(self) -> bool:
        now = self.clock.now()
        return any(start <= now < end for start, end in self._endpoint_down)

    def fire(self, kind: str, **where) -> None:
        self.counts[kind] += 1
        self.trace.record("fault", fault=kind, **where)

    def http_fault(self, system: str, method: str, path: str) -> HttpFault | None:
        """The fault a connector's request meets, if any, drawn and recorded here (``fire``).

        Asked once per request, in the order requests arrive, by whichever
        layer carries them (the in-process transport, or the served ASGI
        app); ``path`` is the system's own path. Every call counts for
        ``crashes.at_calls``, token requests included.
        """
        now = self.clock.now()
        self._calls += 1
        if self._armed is not None:  # the first request after the chosen acknowledgement: it is never sent
            ack, self._armed = self._armed, None
            self.fire(PROCESS_KILLED, point="after_ack", system=system, method=method, path=path, **ack)
            return HttpFault(PROCESS_KILLED, committed=False)
        if self._calls in self._kill_at:
            self.fire(PROCESS_KILLED, point="after_call", system=system, method=method, path=path,
                      call=self._calls)
            return HttpFault(PROCESS_KILLED)
        for down, start, end in self._outages:
            if down == system and start <= now < end:
                self.fire(OUTAGE, system=system, method=method, path=path)
                return HttpFault(OUTAGE, 503)
        for index, (rule, rng, windows) in enumerate(self._rules):
            if system not in rule.systems or method not in rule.methods:
                continue
            if windows and not any(start <= now < end for start, end in windows):
                continue
            if rule.paths and not any(path.startswith(prefix) for prefix in rule.paths):
                continue
            draw = rng.random()  # drawn whether or not the rule is scripted: the other draws stay where they were
            if draw < rule.rate or self._fired_by_rule[index] < rule.first:
                if rule.kind == CONCURRENT_EDIT:
                    if self._edit_concurrently(system, method, path):
                        self._fired_by_rule[index] += 1
                        self.fire(rule.kind, system=system, method=method, path=path)
                    continue  # the request itself goes through, and meets a newer version
                self._fired_by_rule[index] += 1
                if rule.kind == LATENCY:
                    delay = rng.uniform(*rule.latency_seconds)
                    self.fire(rule.kind, system=system, method=method, path=path, seconds=round(delay, 3))
                    return HttpFault(LATENCY, delay_s=delay)
                self.fire(rule.kind, system=system, method=method, path=path)
                return HttpFault(rule.kind, rule.status, retry_after_s=rule.retry_after_s)
        return None

    def dies_after(self, system: str, method: str, path: str, status: int) -> bool:
        """Whether the connector dies right after this answer: the Nth committed write (``crashes.after_writes``).

        A committed write is one the system answered 2xx; reads and token
        requests are not counted. The connector never sees the answer, as
        if its process died between the commit and the next line of its code.
        """
        if not 200 <= status < 300 or not is_write(method, path):
            return False
        self._writes += 1
        if self._writes not in self._kill_after_writes:
            return False
        self.fire(PROCESS_KILLED, point="after_write", system=system, method=method, path=path,
                  status=status, write=self._writes)
        return True

    def acknowledged(self, event: ChangeEvent, attempt: int) -> None:
        """The connector answered a delivery 2xx; at the Nth (``crashes.after_acks``) it dies at its next request.

        That request is never sent: the kill lands between "accepted" and
        "done", where a connector that acknowledges before its work is
        durable loses it.
        """
        self._acks += 1
        if self._acks in self._kill_after_acks:
            self._armed = {"ack": self._acks, "event": event.id, "type": event.type, "entity": event.entity_id,
                           "attempt": attempt}

    def _edit_concurrently(self, system: str, method: str, path: str) -> bool:
        """A finance user touches the record the request is about to update; True if there was one."""
        parts = path.strip("/").split("/")
        if method != "PATCH" or len(parts) != 2:
            return False
        collection, entity_id = parts
        if system == "erp" and collection == "customers" and entity_id in self.systems.erp.customers:
            customer = self.systems.erp.customers[entity_id]
            address = {**customer.billing_address, "line1": customer.billing_address["line1"].upper()}
            self.systems.erp.update_customer(entity_id, {"billing_address": address})
            return True
        if system == "crm" and collection == "accounts" and entity_id in self.systems.crm.accounts:
            account = self.systems.crm.accounts[entity_id]
            self.systems.crm.update_account(entity_id, {"tax_id": account.tax_id})
            return True
        return False

    def revocation_instants(self, start: float, end: float) -> list[float]:
        """Unix times in [start, end) at which every system revokes every token."""
        every = self.faults.token_revocation_every_hours
        instants, t = [], start
        while every is not None:
            t += self._revocation_rng.uniform(*every) * 3600
            if t >= end:
                break
            instants.append(t)
        return instants

    def revoke_tokens(self) -> None:
        revoked = sum(service.tokens.revoke_all() for service in self.systems.services.values())
        self.fire("token_revoked", tokens=revoked)
