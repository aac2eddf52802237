"""A connector that runs elsewhere, seen from the simulation: each webhook delivery forwarded as a real POST.

:func:`forward_to` makes a connector factory for served mode with an
external connector: the harness's courier hands it each signed delivery
(with the sender's retry schedule), and it POSTs the very bytes and
``webhook-*`` headers to ``{url}/webhooks/{system}`` and returns the
status the connector answered. A connector that cannot be reached (refused,
reset, timed out) is answered 502 on its behalf, so the delivery is retried
as any unanswered webhook is.

While the POST is in flight the firm's step releases the lock the HTTP
server handles requests under (``lock``): the external connector calls the
systems while it handles the delivery, and those requests must not wait for
the step that is waiting for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from simulator.contract import Delivery, Runtime

UNREACHABLE = 502  # what a gateway answers when the upstream is not there
TIMEOUT_S = 30.0


@contextmanager
def released(lock: threading.Lock | None) -> Iterator[None]:
    """The firm's step lets go of ``lock`` for the duration (it holds it whenever it calls a connector in served
    mode; outside served mode there is no lock, or nobody holds it, and this does nothing)."""
    if lock is None or not lock.locked():
        yield
        return
    lock.release()
    try:
        yield
    finally:
        lock.acquire()


class ForwardingConnector:
    def __init__(self, url: str, lock: threading.Lock | None, http: httpx.Client,
                 subscriptions: Callable[[], frozenset[str] | None] = lambda: None,
                 on_close: Callable[[], None] = lambda: None,
                 on_delivered: Callable[[], None] = lambda: None,
                 on_delivering: Callable[[], None] = lambda: None) -> None:
        self.url = url.rstrip("/")
        self._on_delivered = on_delivered
        self._on_delivering = on_delivering
        self._subscriptions = subscriptions
        self._on_close = on_close
        self.lock = lock
        self.http = http
        self.unreachable = 0

    @property
    def subscriptions(self) -> frozenset[str] | None:
        """The event types the connector asked for, as it last said (None: every event)."""
        return self._subscriptions()

    def receive(self, delivery: Delivery) -> int:
        self._on_delivering()
        with released(self.lock):
            status = self._post(delivery)
        self._on_delivered()
        return status

    def _post(self, delivery: Delivery) -> int:
        try:
            response = self.http.post(f"{self.url}/webhooks/{delivery.system}", content=delivery.body,
                                      headers=dict(delivery.headers))
        except httpx.TransportError:
            self.unreachable += 1
            return UNREACHABLE
        return response.status_code

    def close(self) -> None:
        """The run is over: no more deliveries, and ``on_close`` (served mode stops the connector's requests)."""
        self.http.close()
        self._on_close()


def forward_to(url: str, lock: threading.Lock | None = None,
               on_close: Callable[[], None] = lambda: None,
               on_delivered: Callable[[], None] = lambda: None,
               on_delivering: Callable[[], None] = lambda: None) -> Callable[[Runtime], ForwardingConnector]:
    """A connector factory: every instance forwards to ``url`` (a restart after a crash makes a new client);
    ``on_delivering`` is called before each delivery, ``on_delivered`` after it is answered (or failed)."""
    def build(runtime: Any) -> ForwardingConnector:
        return ForwardingConnector(url, lock, httpx.Client(timeout=TIMEOUT_S), on_close=on_close,
                                   on_delivered=on_delivered, on_delivering=on_delivering)
    build.__qualname__ = f"forward_to({url!r})"
    return build
