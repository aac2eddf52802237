"""The mock systems over real HTTP: one ASGI application, the same services the in-process transport calls.

Each system is served under its name (``/crm``, ``/clm``, ``/psa``,
``/erp``): a request to ``/erp/charges`` becomes the
:class:`~mocks.core.routing.ApiRequest` ``GET /charges`` for the ERP's
:class:`~mocks.core.service.Service`, exactly as the in-process transport
builds it, and the :class:`~mocks.core.routing.ApiResponse` goes back as
bytes, its ``Content-Length`` stated (but for a 204 or 304, which have no
body). One definition of each endpoint, two transports. ``GET /healthz``
answers 200 once the application is up.

The services are plain Python objects that the simulated firm and the
tests change as well. Every request is handled while holding ``lock``
(a :class:`threading.Lock` the caller may share), and handling is
synchronous and short, so a request never sees a half-made change and a
change never lands inside a request.

HTTP faults. Given an injector (``faults``, a
:class:`~mocks.core.faults.FaultInjector`: a scenario's fault plan), the
app asks it about every request to a system, under the lock, with the same
questions the in-process :class:`~mocks.core.faults.FaultTransport` asks
(system, method, the system's own path; then the status of each answer,
for kill points), and does the fault it names for real, by the function
registered for that kind in :data:`ASGI_EFFECTS` (keyed by the kinds of
:data:`mocks.core.faults.EFFECTS`). Handlers never know; the effects live
here. What a client (httpx) sees, per kind:

- ``server_error`` / ``outage``: the 5xx problem+json the in-process
  transport answers, byte for byte, with ``Retry-After`` when the rule
  gives one; the system never sees the request.
- ``latency``: the request is handled after ``delay_s`` wall seconds (at
  most ``longest_delay_s``, when the app is given one: it caps a
  ``timeout``'s hold too),
  waited without the lock (other requests and the firm go on meanwhile);
  a client whose read timeout is shorter gets ``ReadTimeout`` and the
  request is handled anyway, as in process.
- ``lost_response``: the request is handled (committed), then the
  connection is dropped (below): a transport error, never a status.
- ``connection_reset``: dropped at once, the request not handled.
- ``timeout``: held, not handled, until the client gives up (its read
  timeout: ``ReadTimeout``, as in process) or :data:`TIMEOUT_HOLD_S` has
  passed (then dropped). The hold is short so that a run at a high speed
  is not stalled by a client with a long read timeout; either way the
  client gets a transport error and nothing was written.
- ``process_killed`` (the crashes section's kill points, and
  ``dies_after`` for ``after_write``): the request is handled or not as
  the fault says, then ``on_connector_killed()`` is called (without the
  lock; it must not block: the black-box harness's SIGKILL of the
  connector process) and the connection is dropped. Without a callback
  the drop alone is left, and the fault is still recorded by the plan.

Dropping a connection: ASGI has no way to close one without an answer
(returning without a response makes the server answer 500), so the app
starts a ``502`` response announcing a body (``content-length``) and
``connection: close``, then ends without sending it; uvicorn closes the
connection and httpx raises ``RemoteProtocolError`` ("peer closed
connection without sending complete message body"). A non-streaming
client never sees the status; a streaming one sees ``502`` before the
error; a ``HEAD`` request (which expects no body) would see the ``502``
itself. Uvicorn's "returned without completing response" error line is
filtered out for these drops only.

Which requests meet faults: every request to a served system, token
requests and ``/openapi.json`` included, as in process (where the
connector's every call goes through the fault transport); not
``/healthz``, paths that name no system, or the ``/_c2c/`` control
endpoints, which are the harness's, not the connector's.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from mocks.core.faults import (
    CONNECTION_RESET,
    EFFECTS,
    LATENCY,
    LOST_RESPONSE,
    OUTAGE,
    PROCESS_KILLED,
    SERVER_ERROR,
    TIMEOUT,
    FaultInjector,
    HttpFault,
    gateway_problem,
)
from mocks.core.problems import NotFound, PayloadTooLarge, ServiceClosed
from mocks.core.routing import ApiRequest, ApiResponse, problem_response
from mocks.core.service import FEED_PATH, Service

HEALTH_PATH = "/healthz"
CONTROL_PREFIX = "/_c2c/"  # the harness's control endpoints: they never meet faults
MAX_BODY_BYTES = 10 * 1024 * 1024  # more than any endpoint accepts; larger bodies are refused (413)
TIMEOUT_HOLD_S = 1.0  # the longest a ``timeout`` fault holds a request before dropping it
DROPPED_STATUS = 502  # the status line a dropped connection starts with, before it closes short of its body

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

log = logging.getLogger("c2c.mocks")


class RequestActivity(Protocol):
    """Told when each request to a system begins and ends (``status``: 0 or None if it was dropped or failed;
    ``method``: the request's HTTP method; ``records``: whether the answer handed the caller records to work
    on, see :func:`hands_records`, that it had not been handed the last time it asked, see
    :class:`AnswersHanded`)."""

    def began(self) -> None: ...

    def ended(self, status: int | None, method: str, records: bool) -> None: ...


def hands_records(path: str, response: ApiResponse) -> bool:
    """Whether the answer to a request for ``path`` (the system's own path) hands its caller records to work on:
    an entity, or a page of a list with records in it. Not a ``304 Not Modified``, not an empty page, and not a
    change feed's page: a connector polls its feed all the time, mostly for events it already had by webhook,
    and what a page names that it had not, it reads or writes next. (:class:`AnswersHanded` also tells an answer
    the caller was handed before.)"""
    if response.status == 304 or path == FEED_PATH:
        return False
    return not (isinstance(response.body, dict) and response.body.get("data") == [])


class AnswersHanded:
    """The last answer each read was given, as a digest of its body, per caller: a read answered as the same
    request (system, method, path and query) from the same caller (its ``Authorization``) was answered last time
    hands that caller nothing it did not have.

    A connector on a timer reads what it read a moment ago: the open periods before a charge run, a parent it
    cannot yet write a child under. At a certification's speed its timers fire every fraction of a wall
    millisecond; were each of those reads work, a served firm waiting for a quiet connector would wait at every
    step (a two-month run of 20 wall seconds held for ten minutes by its periods list).

    Only reads (``GET``, ``HEAD``, ``OPTIONS``) are remembered, each answer whatever it held (an empty page in
    between makes the next page with records new again). A connector process started again has a new token,
    so what it reads after a restart is new to it. Called from the server's event loop only. Holds at most
    :data:`REMEMBERED` requests; past that it starts again (forgetting only makes an answer count as new)."""

    REMEMBERED = 65_536
    READS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self) -> None:
        self._last: dict[tuple[str | None, str, str, str, tuple[tuple[str, str], ...]], int] = {}

    def new(self, system: str, request: ApiRequest, body: bytes) -> bool:
        """Whether ``body``, answered to ``request``, is new to its caller (always, for a write); remembered."""
        if request.method not in self.READS or request.path.startswith(CONTROL_PREFIX):
            return True
        key = (request.headers.get("authorization"), system, request.method, request.path,
               tuple(sorted(request.query.items())))
        digest = hash(body)
        if self._last.get(key) == digest:
            return False
        if len(self._last) >= self.REMEMBERED:
            self._last.clear()
        self._last[key] = digest
        return True


class SystemsApp:
    """An ASGI 3 application serving ``services`` (system name -> Service), each under ``/{name}``.

    ``faults`` (optional) is asked about every request to a system and its
    effect done for real (:data:`ASGI_EFFECTS`); ``on_connector_killed`` is
    called at each kill point, without the lock; ``on_answered`` (optional)
    is told each request to a system once it is answered (status 0: the
    connection was dropped), without the lock. ``activity`` (optional) is
    told when each request to a system begins and ends (with its status; 0
    or None: dropped or failed), so a served firm can wait while the
    connector works (:class:`RequestActivity`).
    """

    def __init__(self, services: Mapping[str, Service], lock: threading.Lock | None = None, *,
                 faults: FaultInjector | None = None,
                 on_connector_killed: Callable[[], None] | None = None,
                 on_answered: Callable[[str, str, str, int], None] | None = None,
                 longest_delay_s: float | None = None, activity: RequestActivity | None = None) -> None:
        self.services = services
        self.activity = activity
        self.longest_delay_s = longest_delay_s  # a latency or timeout fault's hold, capped (None: as it says)
        self.open = True  # False once the run is over: the systems answer 503 and change no more
        self.lock = lock or threading.Lock()
        self.faults = faults
        self.on_connector_killed = on_connector_killed
        self.on_answered = on_answered
        self.answers_handed = AnswersHanded()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _body(receive)
        if body is None:
            await _send(send, problem_response(PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")))
            return
        exchange = self.route(scope, body, receive, send)
        if isinstance(exchange, ApiResponse):
            await _send(send, exchange)
            return
        watched = self.activity is not None and not exchange.request.path.startswith(CONTROL_PREFIX)
        if watched:
            self.activity.began()
        try:
            fault = self._fault(exchange)
            if fault is None:
                await exchange.respond(exchange.handle())
            else:
                await ASGI_EFFECTS[fault.kind](exchange, fault)
        except _Killed:
            await exchange.killed()
        finally:
            if watched:
                self.activity.ended(exchange.status, exchange.request.method, exchange.records)

    def route(self, scope: dict[str, Any], body: bytes, receive: Receive, send: Send) -> Exchange | ApiResponse:
        """The request to the system its path names, or the app's own answer (health, no such system)."""
        path: str = scope["path"]
        if path == HEALTH_PATH:
            return ApiResponse(200, {"status": "ok", "systems": sorted(self.services)})
        name, _, rest = path.lstrip("/").partition("/")
        if not self.open and name in self.services:
            return problem_response(ServiceClosed(f"the run is over; {name} is closed and changes no more"))
        service = self.services.get(name)
        if service is None:
            return problem_response(NotFound(f"no mock system is served at /{name}; "
                                             f"systems: {', '.join(sorted(self.services))}"))
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        request = ApiRequest.build(scope["method"], "/" + rest, scope["query_string"].decode("latin-1"), headers, body)
        return Exchange(self, name, service, request, receive, send)

    def _fault(self, exchange: Exchange) -> HttpFault | None:
        """The fault the injector names for this request (asked under the lock: it reads the run's clock and
        draws), or None without an injector or for a control endpoint."""
        if self.faults is None or exchange.request.path.startswith(CONTROL_PREFIX):
            return None
        with self.lock:
            fault = self.faults.http_fault(exchange.system, exchange.request.method, exchange.request.path)
        if fault is not None and fault.kind not in ASGI_EFFECTS:
            raise ValueError(f"unknown HTTP fault kind {fault.kind!r}")
        return fault

    def answered(self, exchange: Exchange, status: int) -> None:
        """Tell ``on_answered`` (system, method, path, status; 0: the connection was dropped) about a request to a
        system, once its answer is sent (the lock is not held). Control endpoints are the harness's: not told."""
        if self.on_answered is None or exchange.request.path.startswith(CONTROL_PREFIX):
            return
        try:
            self.on_answered(exchange.system, exchange.request.method, exchange.request.path, status)
        except Exception:
            log.exception("on_answered failed")

    def connector_killed(self) -> None:
        """Tell whoever runs the connector that its process dies now (never raises; the lock is not held)."""
        if self.on_connector_killed is None:
            return
        try:
            self.on_connector_killed()
        except Exception:
            log.exception("on_connector_killed failed")

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


class _Killed(Exception):
    """The injector said the caller dies right after this answer (``dies_after``): raised out of the lock."""


class Exchange:
    """One request to one system on its way through the app: what an effect of :data:`ASGI_EFFECTS` acts on."""

    def __init__(self, app: SystemsApp, system: str, service: Service, request: ApiRequest, receive: Receive,
                 send: Send) -> None:
        self.app = app
        self.system = system
        self.service = service
        self.request = request
        self._receive = receive
        self._send = send
        self.status: int | None = None  # the status answered; 0: the connection was dropped; None: not yet
        self.records = False  # whether the answer sent handed the caller records to work on (hands_records)

    def handle(self, *, ask_dies_after: bool = True) -> ApiResponse:
        """The system's answer, handled under the lock; raises :class:`_Killed` if the injector says the caller
        dies right after it (as :meth:`mocks.core.faults.FaultTransport.send` raises ``ProcessKilled``)."""
        with self.app.lock:
            response = self.service.handle(self.request)
            faults = self.app.faults
            dies = ask_dies_after and faults is not None and not self.request.path.startswith(CONTROL_PREFIX) \
                and faults.dies_after(self.system, self.request.method, self.request.path, response.status)
        if dies:
            raise _Killed
        return response

    async def respond(self, response: ApiResponse) -> None:
        body = await _send(self._send, response)
        self.status = response.status
        new = self.app.answers_handed.new(self.system, self.request, body)
        self.records = hands_records(self.request.path, response) and new
        self.app.answered(self, response.status)

    async def hold(self, seconds: float) -> None:
        """Wait up to ``seconds`` (not holding the lock); sooner if the client hangs up. A server that stops
        meanwhile cancels the wait: it ends it, and the caller drops the connection."""
        async def hung_up() -> None:
            while (await self._receive())["type"] != "http.disconnect":
                pass
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(hung_up(), seconds)

    async def drop(self) -> None:
        """Close the connection without an answer the client can read (see the module's docstring)."""
        _dropping.set(True)
        await self._send({"type": "http.response.start", "status": DROPPED_STATUS,
                          "headers": [(b"content-type", b"application/problem+json"), (b"content-length", b"1"),
                                      (b"connection", b"close")]})
        self.status = 0
        self.app.answered(self, 0)

    async def killed(self) -> None:
        """The connector's process dies now: the callback, then the connection drops."""
        self.app.connector_killed()
        await self.drop()


# What a fault does to one request over real HTTP, by kind (the kinds of mocks.core.faults.EFFECTS): given the
# exchange and the fault, answer, drop the connection, or both. Raising _Killed (from Exchange.handle) ends in
# Exchange.killed.
AsgiEffect = Callable[[Exchange, HttpFault], Awaitable[None]]
ASGI_EFFECTS: dict[str, AsgiEffect] = {}


def asgi_effect(*kinds: str) -> Callable[[AsgiEffect], AsgiEffect]:
    """Register what the faults of these kinds do to a request that came over real HTTP."""
    def register(function: AsgiEffect) -> AsgiEffect:
        for kind in kinds:
            if kind not in EFFECTS:
                raise ValueError(f"HTTP fault kind {kind!r} has no in-process effect (mocks.core.faults.EFFECTS)")
            if kind in ASGI_EFFECTS:
                raise ValueError(f"HTTP fault kind {kind!r} has two ASGI effects")
            ASGI_EFFECTS[kind] = function
        return function
    return register


@asgi_effect(SERVER_ERROR, OUTAGE)
async def _gateway_error(exchange: Exchange, fault: HttpFault) -> None:
    headers, body = gateway_problem(exchange.system, fault)
    await exchange.respond(ApiResponse(fault.status, None, headers, body))


@asgi_effect(TIMEOUT)
async def _timeout(exchange: Exchange, fault: HttpFault) -> None:
    longest = exchange.app.longest_delay_s
    await exchange.hold(TIMEOUT_HOLD_S if longest is None else min(TIMEOUT_HOLD_S, longest))
    await exchange.drop()


@asgi_effect(LOST_RESPONSE)
async def _lost(exchange: Exchange, fault: HttpFault) -> None:
    exchange.handle()  # committed on the server ...
    await exchange.drop()


@asgi_effect(CONNECTION_RESET)
async def _reset(exchange: Exchange, fault: HttpFault) -> None:
    await exchange.drop()


@asgi_effect(LATENCY)
async def _slow(exchange: Exchange, fault: HttpFault) -> None:
    try:
        longest = exchange.app.longest_delay_s
        await asyncio.sleep(fault.delay_s if longest is None else min(fault.delay_s, longest))
    except asyncio.CancelledError:  # the server stops meanwhile: the request is never handled
        await exchange.drop()
        return
    await exchange.respond(exchange.handle())


@asgi_effect(PROCESS_KILLED)
async def _killed(exchange: Exchange, fault: HttpFault) -> None:
    if fault.committed:
        exchange.handle(ask_dies_after=False)  # committed on the server, and the caller is gone
    await exchange.killed()


# Dropping a connection leaves the response unfinished on purpose; uvicorn says so at ERROR level. The flag is
# set in the dropping request's own task (its context), so only those lines are left out.
_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("c2c_dropping", default=False)
UNFINISHED = "ASGI callable returned without completing response."


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping.get() and record.getMessage() == UNFINISHED)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


async def _body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it is larger than :data:`MAX_BODY_BYTES`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


BODILESS = frozenset({204, 304})  # statuses that carry no body and no Content-Length (RFC 9110 §8.6)


async def _send(send: Send, response: ApiResponse) -> bytes:
    """The answer in two messages, its length stated (as the in-process answer states it), so the server sends the
    body as it is rather than in chunks with a terminating one; the body sent."""
    body = response.encode()
    headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.wire_headers().items()]
    if response.status >= 200 and response.status not in BODILESS \
            and not any(name.lower() == b"content-length" for name, _ in headers):
        headers.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return body
