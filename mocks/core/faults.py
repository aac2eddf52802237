"""HTTP faults, injected in the transport and nowhere else.

A :class:`FaultTransport` wraps any httpx transport (the in-process one, or
a real one in front of a server) and asks an injector, per request, whether
this request meets a fault. Handlers never know faults exist. The
injector's questions name the request by system, method and path only, so
the same injector (a scenario's fault plan) also answers the server side:
:class:`mocks.core.asgi.SystemsApp` asks it about every request that comes
over real HTTP and does each kind for real (its own registry,
:data:`mocks.core.asgi.ASGI_EFFECTS`, keyed by the same kinds). What each
fault does is what a connector meets in production:

- ``server_error`` / ``outage``: the request never reaches the system; the
  gateway answers 5xx (an outage window answers 503 to everything).
- ``timeout``: the request never reaches the system and the caller times
  out: nothing was written.
- ``lost_response``: the system commits the request, then the response is
  lost and the caller times out: something *was* written. Only an
  idempotency key saves the retry from writing it twice.
- ``connection_reset``: the connection drops before the request is sent.
- ``latency``: the answer takes ``delay_s``. Beyond the caller's read
  timeout the system has done the work and the caller times out (as a
  lost response); within it the call succeeds. (In-process calls take no
  simulated time, so latency only matters where it crosses the timeout.)
- ``process_killed``: the system commits the request, and the *caller's*
  process dies before it sees the answer (:class:`ProcessKilled`, a
  ``BaseException`` so that no ``except Exception`` in connector code can
  swallow its own death). The harness restarts the connector from its
  durable storage. With ``committed=False`` the process dies as it sends
  the request, which never reaches the system.

What each kind does is one function registered in :data:`EFFECTS`
(``@effect(kind)``); the transport itself only asks and dispatches.

Besides asking before each request, the transport tells the injector of
every answer the system gave (:meth:`FaultInjector.dies_after`), so a kill
can land right after a request the system committed, chosen by what the
request was (a write) rather than by a count of every call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

SERVER_ERROR = "server_error"
OUTAGE = "outage"
TIMEOUT = "timeout"
LOST_RESPONSE = "lost_response"
CONNECTION_RESET = "connection_reset"
PROCESS_KILLED = "process_killed"
LATENCY = "latency"
HTTP_FAULTS = (SERVER_ERROR, OUTAGE, TIMEOUT, LOST_RESPONSE, CONNECTION_RESET)  # those every call may meet


class ProcessKilled(BaseException):
    """The calling process died mid-request (after the server committed it)."""


@dataclass(frozen=True)
class HttpFault:
    kind: str
    status: int = 503
    delay_s: float = 0.0
    committed: bool = True  # process_killed: whether the system committed the request before the caller died
    retry_after_s: int | None = None  # a server error's Retry-After, when the rule gives one


class FaultInjector(Protocol):
    """Asked about every request, whatever carries it: ``path`` is the system's own (``/charges``, not ``/erp/charges``)."""

    def http_fault(self, system: str, method: str, path: str) -> HttpFault | None:
        """The fault this request meets, if any (and a record of it)."""

    def dies_after(self, system: str, method: str, path: str, status: int) -> bool:
        """Whether the caller's process dies right after the system answered ``status`` (and a record of it)."""


def gateway_problem(system: str, fault: HttpFault) -> tuple[dict[str, str], bytes]:
    """The headers and body a failing gateway answers with (``server_error``, ``outage``): problem+json,
    with ``Retry-After`` when the fault gives one. Both transports send these very bytes."""
    body = {"type": "https://c2c.dev/problems/" + fault.kind, "title": "Service unavailable",
            "status": fault.status, "detail": f"{system} is failing ({fault.kind}); retry later"}
    headers = {"content-type": "application/problem+json"}
    if fault.retry_after_s is not None:
        headers["retry-after"] = str(fault.retry_after_s)
    return headers, json.dumps(body).encode()


# What a fault does to one request, by kind: given the transport (to reach the system, ``transport.send``),
# the system's name, the request and the fault, answer or raise. A new kind is one function registered here,
# and one in mocks.core.asgi.ASGI_EFFECTS for what it does over real HTTP (tests/mocks/test_asgi_faults.py
# checks both registries name the same kinds); ``by_rule`` kinds are the ones a scenario's ``faults.http`` rules
# may name (their schema reads RULE_KINDS).
Effect = Callable[["FaultTransport", str, httpx.Request, HttpFault], httpx.Response]
EFFECTS: dict[str, Effect] = {}
RULE_KINDS: list[str] = []


def effect(*kinds: str, by_rule: bool = True) -> Callable[[Effect], Effect]:
    """Register what the faults of these kinds do to a request."""
    def register(function: Effect) -> Effect:
        for kind in kinds:
            if kind in EFFECTS:
                raise ValueError(f"HTTP fault kind {kind!r} is registered twice")
            EFFECTS[kind] = function
            if by_rule:
                RULE_KINDS.append(kind)
        return function
    return register


@effect(OUTAGE, by_rule=False)  # an outage window of the scenario, not a rule
@effect(SERVER_ERROR)
def _gateway_error(transport: FaultTransport, system: str, request: httpx.Request, fault: HttpFault) -> httpx.Response:
    headers, body = gateway_problem(system, fault)
    return httpx.Response(fault.status, content=body, request=request, headers=headers)


@effect(TIMEOUT)
def _timeout(transport: FaultTransport, system: str, request: httpx.Request, fault: HttpFault) -> httpx.Response:
    raise httpx.ReadTimeout(f"{system}: no response (request not processed)", request=request)


@effect(LOST_RESPONSE)
def _lost(transport: FaultTransport, system: str, request: httpx.Request, fault: HttpFault) -> httpx.Response:
    transport.send(system, request)  # committed on the server ...
    raise httpx.ReadTimeout(f"{system}: no response (the request may have been processed)", request=request)


@effect(CONNECTION_RESET)
def _reset(transport: FaultTransport, system: str, request: httpx.Request, fault: HttpFault) -> httpx.Response:
    raise httpx.ConnectError(f"{system}: connection reset by peer", request=request)


@effect(LATENCY)
def _slow(transport: FaultTransport, system: str, request: httpx.Request, fault: HttpFault) -> httpx.Response:
    timeout = (request.extensions.get("timeout") or {}).get("read")
    response = transport.send(system, request)
    if timeout is not None and fault.delay_s > timeout:
        raise httpx.ReadTimeout(f"{system}: no response within {timeout} s (the request was processed)",
                                request=request)
    return response


@effect(PROCESS_KILLED, by_rule=False)  # the crashes section's kill points
def _killed(transport: FaultTransport, system: str, request: httpx.Request, fault: HttpFault) -> httpx.Response:
    if not fault.committed:
        raise ProcessKilled(f"connector killed sending {request.method} {request.url.path} to {system}")
    transport.inner.handle_request(request)  # committed on the server, and the caller is gone
    raise ProcessKilled(f"connector killed during {request.method} {request.url.path} on {system}")


class FaultTransport(httpx.BaseTransport):
    """Asks the injector about every request and applies the registered :data:`EFFECTS` of the fault it names."""

    def __init__(self, inner: httpx.BaseTransport, system_of_host: dict[str, str], injector: FaultInjector) -> None:
        self.inner = inner
        self.system_of_host = system_of_host
        self.injector = injector

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        system = self.system_of_host.get(request.url.host, request.url.host)
        fault = self.injector.http_fault(system, request.method, request.url.path)
        if fault is None:
            return self.send(system, request)
        if fault.kind not in EFFECTS:
            raise ValueError(f"unknown HTTP fault kind {fault.kind!r}")
        return EFFECTS[fault.kind](self, system, request, fault)

    def send(self, system: str, request: httpx.Request) -> httpx.Response:
        """The system's answer, unless the injector says the caller dies right after the system gave it."""
        response = self.inner.handle_request(request)
        if self.injector.dies_after(system, request.method, request.url.path, response.status_code):
            raise ProcessKilled(f"connector killed right after {request.method} {request.url.path} on {system} "
                                f"was answered {response.status_code}")
        return response
