"""A connector that runs elsewhere, seen from the simulation: each webhook delivery forwarded as a real POST.

:func:`forward_to` makes a connector factory for served mode with an
external connector: the harness's courier hands it each signed delivery
(with the sender's retry schedule), and it POSTs the very bytes and
``webhook-*`` headers to ``{url}/webhooks/{system}`` and returns the
status the connector answered. A connector that cannot be reached (refused,
reset, timed out, or closing the connection without a whole answer) is
answered 502 on its behalf, so the delivery is retried as any unanswered
webhook is.

The POST goes over one kept-alive connection (:class:`WebhookPoster`, the
standard library's ``http.client``: a delivery needs the status and nothing
else, and httpx's client took three times the CPU for it, in the process
that also serves the systems). A connection the connector closed while idle
is seen before it is used and opened afresh; one that fails mid-delivery is
dropped, and the delivery answered 502 (never sent twice by the poster: the
sender's retry schedule does that).

While the POST is in flight the firm's step releases the lock the HTTP
server handles requests under (``lock``): the external connector calls the
systems while it handles the delivery, and those requests must not wait for
the step that is waiting for them.
"""

from __future__ import annotations

import http.client
import select
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

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


class Unreachable(Exception):
    """The connector could not be reached, or gave no whole answer (refused, reset, timed out, closed short)."""


class WebhookPoster:
    """POSTs to one HTTP(S) origin over one kept-alive connection; the answer's status (its body is read and
    dropped). Used from one thread at a time. ``timeout_s`` bounds the connect and every read and write."""

    def __init__(self, url: str, timeout_s: float = TIMEOUT_S) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a connector URL is http(s)://host[:port][/path], got {url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def _connected(self) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and connection.sock is not None \
                and select.select([connection.sock], [], [], 0)[0]:  # idle, yet readable: the peer closed it
            connection.close()
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = self._connection = kind(self._host, self._port, timeout=self.timeout_s)
        return connection

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` to ``path`` (under the URL's own path); raises :class:`Unreachable`."""
        connection = self._connected()
        try:
            connection.request("POST", self.prefix + path, body, dict(headers))
            answer = connection.getresponse()
            answer.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if answer.will_close:
            self.close()
        return answer.status

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class ForwardingConnector:
    def __init__(self, url: str, lock: threading.Lock | None, http: WebhookPoster,
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
            return self.http.post(f"/webhooks/{delivery.system}", delivery.body, delivery.headers)
        except Unreachable:
            self.unreachable += 1
            return UNREACHABLE

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
        return ForwardingConnector(url, lock, WebhookPoster(url), on_close=on_close,
                                   on_delivered=on_delivered, on_delivering=on_delivering)
    build.__qualname__ = f"forward_to({url!r})"
    return build
