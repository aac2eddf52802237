"""The connector contract: everything a connector may rely on, in one module.

A connector is a factory ``build(runtime) -> connector``, named
``package.module:function``. The factory gets a :class:`Runtime` (what the
harness lends it) and returns a :class:`Connector`: ``receive(delivery) ->
int`` for each webhook, ``close()`` at the end. Nothing else of the harness
is part of the contract; a connector that imports only this module, the
standard library and ``httpx`` runs under every c2c release that keeps it.

Guarantees the harness gives every connector:

- **Simulated time.** ``runtime.clock`` and ``runtime.scheduler`` run on
  the simulation's clock, never the wall clock; the same scenario and seed
  give the same calls at the same instants in the same order.
- **Crash and restart.** A crash discards the connector object and every
  callback it scheduled (none of them runs again), then calls the factory
  again with a new :class:`Runtime` on the same ``storage``. Whatever was
  not put in ``storage`` is gone, as after a real process restart. A kill
  inside a request raises ``mocks.core.faults.ProcessKilled``, a
  ``BaseException``: connector code that catches ``Exception`` cannot
  swallow it.
- **Faults are the connector's.** An exception from ``receive``, from a
  scheduled callback or from ``close``, or a ``receive`` that returns
  anything but an HTTP status, is counted against the connector; the
  sender sees a 500 and the run goes on.
"""

from __future__ import annotations

import logging
import random
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from mocks.core.clock import Clock
from mocks.core.feed import ChangeEvent

__all__ = ["JSON", "ChangeEvent", "Clock", "Connector", "ConnectorFactory", "Delivery", "Runtime", "Scheduler",
           "Storage"]

JSON = Any
"""A value JSON can hold: ``dict`` (string keys), ``list``, ``str``, ``int``, ``float``, ``bool`` or ``None``."""


class Delivery(Protocol):
    """One webhook message, as ``receive`` gets it: a signed CloudEvents 1.0 envelope (Standard Webhooks).

    Guarantees:

    - ``body`` is the JSON text of a *thin* CloudEvent: ``id`` (the event
      id), ``type`` (e.g. ``"psa.timesheet.approved"``), ``source``,
      ``subject``, ``time`` and ``data`` = ``{"id": entity id, "version":
      entity version, "cursor": its change-feed cursor}``. The entity
      itself is not in it: read the current state from the system.
    - ``headers`` carry ``webhook-id`` (the event id: the same on every
      retry and redelivery, so it deduplicates), ``webhook-timestamp``
      (Unix seconds, fresh on every attempt) and ``webhook-signature``
      (``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}." + body`` keyed
      by ``runtime.webhook_secret``). A message from anyone else (a forgery,
      a replay of a captured message) arrives the same way: only the
      signature and the timestamp tell them apart.
    - Delivery is at least once: a message not answered 2xx is retried
      (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), re-signed each time; it
      may also be delayed, duplicated or lost, and messages are not in
      order. Every system also serves its change feed at
      ``GET /events?after=CURSOR`` (410 once the cursor is older than the
      feed's retention).
    """

    @property
    def system(self) -> str:
        """The sending system: ``"crm"``, ``"clm"``, ``"psa"`` or ``"erp"``."""

    @property
    def event(self) -> ChangeEvent:
        """The change-feed event the sender meant; informational: only ``headers`` and ``body`` are signed."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The ``webhook-*`` headers, lower-case names."""

    @property
    def body(self) -> bytes:
        """The exact bytes that were signed."""


class Scheduler(Protocol):
    """Callbacks in simulated time, for one connector instance.

    Guarantees: a callback runs at the simulated instant it was scheduled
    for, never earlier; after the instance crashes none of its callbacks
    runs again; a callback that raises is counted as the connector's fault
    and the schedule goes on (an ``every`` keeps repeating).
    """

    def call_later(self, delay_s: float, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` once, ``delay_s`` simulated seconds from now (0: as soon as the current step is done)."""

    def every(self, interval_s: float, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` every ``interval_s`` simulated seconds, the first time one interval from now."""


class Storage(MutableMapping[str, JSON]):
    """Durable storage: a ``MutableMapping[str, JSON]`` plus :meth:`scan`.

    Guarantees: it outlives the connector object (a crash keeps it, and the
    next instance gets the same storage); every write is durable when it
    returns, so a process killed between two writes finds the first and not
    the second. Values are stored as JSON text: what is read back is always
    a fresh copy, and nothing live (an object, a socket) survives.
    """

    @abstractmethod
    def scan(self, prefix: str) -> Iterator[tuple[str, JSON]]:
        """Every ``(key, value)`` whose key starts with ``prefix``, in key order."""


@dataclass(frozen=True)
class Runtime:
    """What the harness lends a connector: the factory's only argument.

    A crash ends the connector object; its restart gets a new ``Runtime``
    with the same ``storage``, ``urls``, ``credentials`` and
    ``webhook_secret``.
    """

    http: httpx.Client
    """Reaches the systems (in process, through the scenario's HTTP faults); every request is traced."""
    urls: dict[str, str]
    """System name -> base URL, ``http://<system>.c2c.test``, one per system in the scenario."""
    credentials: dict[str, tuple[str, str]]
    """System name -> OAuth2 client credentials ``(client_id, client_secret)`` for ``POST /oauth/token``."""
    webhook_secret: str
    """The Standard Webhooks secret (``whsec_`` + base64) every :class:`Delivery` is signed with."""
    clock: Clock
    """Simulated time: ``now()`` in Unix seconds; never goes back."""
    scheduler: Scheduler
    """Callbacks in simulated time, cancelled when this instance crashes."""
    storage: Storage
    """Durable storage: the only state that survives a crash."""
    rng: random.Random
    """Seeded (the ``"connector"`` stream): draws from it keep a run reproducible."""
    log: logging.Logger
    """Records logged here go to the run's trace (``events.jsonl``)."""


class Connector(Protocol):
    """What a factory returns.

    A connector may also declare ``subscriptions``, a set of event types:
    like a webhook endpoint configured for some events only, it is then sent
    only those. Without it, every event is delivered.
    """

    def receive(self, delivery: Delivery) -> int:
        """Handle one webhook and answer with an HTTP status (an ``int`` in 100..599).

        2xx acknowledges the message; anything else (or raising) makes the
        sender retry it later.
        """

    def close(self) -> None:
        """Called once, at the end of the run."""


ConnectorFactory = Callable[[Runtime], Connector]
"""``build(runtime) -> connector``: what a scenario's ``connector:`` names as ``package.module:function``."""
