"""Served mode: the firm's calendar stands still while an external connector works.

In process, a connector's work takes no simulated time: its HTTP calls
return at once in the firm's clock, and only its own timers (retry
backoff, polls, a ``Retry-After`` it honours) let the calendar move. A
connector in another process cannot share that clock. It answers a webhook
and then works on its own worker; at a certification's speed (hundreds of
thousands of simulated seconds per wall second) the few wall milliseconds
of that work would be hours of simulated lag, and a queue-based connector
would be judged late for being built well.

So the served firm waits before each step until the connector is quiet
(:meth:`ConnectorActivity.await_quiet`): none of its requests to the
systems in flight, and neither a change it made (an answered ``POST``,
``PUT``, ``PATCH`` or ``DELETE``), nor a read that handed it records to
work on (an entity, a page of a list with records:
:func:`mocks.core.asgi.hands_records`), nor a webhook delivery in the
last :data:`QUIET_S` wall seconds. Work a connector does right after it
acknowledges a webhook, or on what a feed poll found, therefore happens,
as in process, before the calendar moves on: a connector that reads a
timesheet, then its contract, then writes the charges, is not judged
late for the wall milliseconds between its requests, which at a
certification's speed are simulated minutes each (a busy machine makes
them many). A delivery during which the connector already wrote to the
systems (it works inside its handler) is not waited after: that work is
done when the answer comes.

What does not hold the calendar:

- a read that handed over no records, once answered: a ``304``, an empty
  page, and any page of a change feed. A connector polls its feeds on a
  short wall-clock cadence, mostly for events it already had by webhook,
  and a poll that finds nothing new is no work; what it finds, it reads or
  writes next. Nor does a read answered exactly as the same request of the
  same connector process was last time
  (:class:`mocks.core.asgi.AnswersHanded`): a connector on a timer
  re-reads the open periods, or the parent of an item it cannot write yet,
  and hands itself nothing new; at a certification's speed its timers fire
  every fraction of a wall millisecond, and such reads held a
  kill-and-restart run of 20 wall seconds for ten minutes, and a run whose
  parents were blocked for weeks for its whole hold budget. Such a read
  neither starts nor prolongs a hold: a connector that reads something new,
  then something it read before, then writes, must do it within the quiet
  period of the new read. While a read is in flight it holds the firm like
  any request;
- a write the system refused (any other ``4xx``: a ``422`` for data it
  will not take, a ``409``, a ``412`` for a stale ``If-Match``): it changed
  nothing. A connector that retries a refused write on a compressed
  backoff (sub-millisecond at a certification's speed) would otherwise
  hold the firm at every step, and the calendar would never reach the day
  the source data is fixed (the reads of each retry are the same answers
  as last time, so they do not hold it either);
- a ``429`` answer: a throttled connector waits, and waiting takes
  simulated time, which is also what refills the scenario's rate limit (per
  simulated second). Until an answer other than a 429 comes, the
  connector's requests in flight do not hold the firm either: a connector
  retrying at once meets 429s until the firm has moved on far enough, and
  must not stop it from moving on. Nor, until a write of its is accepted
  again, do the records its reads hand it: a connector whose writes wait
  for the quota reads the work that piles up meanwhile, and holding the
  firm for those reads would keep the quota from refilling;
- a connector that never stops (a tight poll loop): a hold lasts at most
  :data:`LONGEST_HOLD_S` per step, then the firm takes the step anyway;
  and where a budget is set for the whole run (a certification's runs:
  :data:`CERTIFICATION_HOLD_BUDGET_S`), once the holds add up to it the
  firm stops waiting altogether (:attr:`ConnectorActivity.gave_up`): a
  connector that keeps writing at every step is judged on what it did,
  instead of keeping a run of a minute going for hours. That moment is told
  (:attr:`ConnectorActivity.on_gave_up`: a served run traces it as
  ``firm_stopped_waiting``), since from then on the connector's work takes
  simulated time, and a verdict on lag says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

QUIET_S = 0.015  # how long a connector must have been idle before the firm steps (wall seconds)
LONGEST_HOLD_S = 3.0  # the longest the firm waits for a busy connector before one step (wall seconds)
CERTIFICATION_HOLD_BUDGET_S = 600.0  # all a certification's run waits for its connector (its runs take 1-2 min)
NAP_S = 0.002
THROTTLED = 429
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class ConnectorActivity:
    """What an external connector is doing, as the served systems see it (thread-safe).

    The server calls :meth:`began` and :meth:`ended` around each request
    the connector makes; the firm calls :meth:`delivered` after each webhook
    it hands over, and :meth:`await_quiet` before each step.
    """

    def __init__(self, quiet_s: float = QUIET_S, longest_s: float = LONGEST_HOLD_S,
                 clock: Callable[[], float] = time.monotonic, budget_s: float | None = None) -> None:
        self.quiet_s = quiet_s
        self.longest_s = longest_s
        self.budget_s = budget_s  # None: the firm waits for the connector at every step, however long in all
        self.gave_up = False  # the budget ran out: the firm no longer waits
        self.on_gave_up: Callable[[float], None] = lambda held_s: None  # told once, the holds' total, when it does
        self._clock = clock
        self._guard = threading.Lock()
        self._in_flight = 0
        self._throttled = False  # the last answer was a 429: what is in flight is likely throttled too
        self._waiting_for_quota = False  # a 429 since the last write that counted as work: its reads do not
        self._last_work = float("-inf")
        self._delivering = False
        self._worked_in_delivery = False
        self.held_s = 0.0  # wall seconds the firm has waited for the connector, in all
        self.holding = True  # False: the firm never waits (a run in real time, where work must take time)

    def began(self) -> None:
        with self._guard:
            self._in_flight += 1

    def ended(self, status: int | None, method: str = "POST", records: bool = True) -> None:
        """A request is over (``status`` 0 or None: its connection was dropped, and a write may have been
        committed). A 429 is no work done, and neither is a refused request (another 4xx) or an answered read
        (``method`` in :data:`READS`) that handed over no records (``records`` False: a 304, an empty page, a
        feed's page); a read that handed over records is, since the connector acts on them next, unless a 429
        came since its last write that was work."""
        with self._guard:
            self._in_flight -= 1
            self._throttled = status == THROTTLED
            read = method.upper() in READS
            if self._throttled:
                self._waiting_for_quota = True
            if status and ((read and (not records or self._waiting_for_quota))
                           or (400 <= status < 500 and not self._throttled)):
                return
            if not read and not self._throttled:
                self._waiting_for_quota = False  # a write went through (or may have): the quota is flowing
            if self._delivering and not read:  # a read may be a concurrent poll's, not the handler's work
                self._worked_in_delivery = True  # covered by the delivery: the firm waits for its answer anyway
            elif not self._throttled:
                self._last_work = self._clock()

    def delivering(self) -> None:
        """A webhook is on its way to the connector (the firm waits for the answer)."""
        with self._guard:
            self._delivering, self._worked_in_delivery = True, False

    def delivered(self) -> None:
        """A webhook was answered: unless the connector did its work while answering, it may be starting the work
        it acknowledged."""
        with self._guard:
            self._delivering = False
            if not self._worked_in_delivery:
                self._last_work = self._clock()

    def quiet(self) -> bool:
        with self._guard:
            return (self._in_flight == 0 or self._throttled) and self._clock() - self._last_work >= self.quiet_s

    def idle_for(self) -> float:
        """Wall seconds since the connector last worked or was handed a webhook (0 while a request is in flight)."""
        with self._guard:
            return 0.0 if self._in_flight else max(0.0, self._clock() - self._last_work)

    def await_quiet(self) -> float:
        """Wait until the connector is quiet, or :attr:`longest_s` has passed; the wall seconds waited
        (none while :attr:`holding` is off, or once the holds have used up :attr:`budget_s`)."""
        if not self.holding:
            return 0.0
        if self.budget_s is not None and self.held_s >= self.budget_s:
            self.holding, self.gave_up = False, True
            self.on_gave_up(self.held_s)
            return 0.0
        started = self._clock()
        while not self.quiet() and self._clock() - started < self.longest_s:
            time.sleep(NAP_S)
        waited = self._clock() - started
        self.held_s += waited
        return waited
