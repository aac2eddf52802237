"""HTTP faults, injected in the transport and nowhere else.

A :class:`FaultTransport` wraps any httpx transport (the in-process one, or
a real one in front of a server) and asks an injector, per request, whether
this request meets a fault. Handlers never know faults exist. What each
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

Besides asking before each request, the transport tells the injector of
every answer the system gave (:meth:`FaultInjector.dies_after`), so a kill
can land right after a request the system committed, chosen by what the
request was (a write) rather than by a count of every call.
"""

from __future__ import annotations

import json
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
    def http_fault(self, system: str, request: httpx.Request) -> HttpFault | None:
        """The fault this request meets, if any (and a record of it)."""

    def dies_after(self, system: str, request: httpx.Request, response: httpx.Response) -> bool:
        """Whether the caller's process dies right after the system answered ``response`` (and a record of it)."""


class FaultTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, system_of_host: dict[str, str], injector: FaultInjector) -> None:
        self.inner = inner
        self.system_of_host = system_of_host
        self.injector = injector

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        system = self.system_of_host.get(request.url.host, request.url.host)
        fault = self.injector.http_fault(system, request)
        if fault is None:
            return self._answered(system, request, self.inner.handle_request(request))
        if fault.kind in (SERVER_ERROR, OUTAGE):
            body = {"type": "https://c2c.dev/problems/" + fault.kind, "title": "Service unavailable",
                    "status": fault.status, "detail": f"{system} is failing ({fault.kind}); retry later"}
            headers = {"content-type": "application/problem+json"}
            if fault.retry_after_s is not None:
                headers["retry-after"] = str(fault.retry_after_s)
            return httpx.Response(fault.status, content=json.dumps(body).encode(), request=request, headers=headers)
        if fault.kind == TIMEOUT:
            raise httpx.ReadTimeout(f"{system}: no response (request not processed)", request=request)
        if fault.kind == CONNECTION_RESET:
            raise httpx.ConnectError(f"{system}: connection reset by peer", request=request)
        if fault.kind == LOST_RESPONSE:
            self._answered(system, request, self.inner.handle_request(request))  # committed on the server ...
            raise httpx.ReadTimeout(f"{system}: no response (the request may have been processed)", request=request)
        if fault.kind == LATENCY:
            timeout = (request.extensions.get("timeout") or {}).get("read")
            response = self._answered(system, request, self.inner.handle_request(request))
            if timeout is not None and fault.delay_s > timeout:
                raise httpx.ReadTimeout(f"{system}: no response within {timeout} s (the request was processed)",
                                        request=request)
            return response
        if fault.kind == PROCESS_KILLED:
            if not fault.committed:
                raise ProcessKilled(f"connector killed sending {request.method} {request.url.path} to {system}")
            self.inner.handle_request(request)  # committed on the server, and the caller is gone
            raise ProcessKilled(f"connector killed during {request.method} {request.url.path} on {system}")
        raise ValueError(f"unknown HTTP fault kind {fault.kind!r}")

    def _answered(self, system: str, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """``response``, unless the injector says the caller dies right after the system gave it."""
        if self.injector.dies_after(system, request, response):
            raise ProcessKilled(f"connector killed right after {request.method} {request.url.path} on {system} "
                                f"was answered {response.status_code}")
        return response
