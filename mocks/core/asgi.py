"""The mock systems over real HTTP: one ASGI application, the same services the in-process transport calls.

Each system is served under its name (``/crm``, ``/clm``, ``/psa``,
``/erp``): a request to ``/erp/charges`` becomes the
:class:`~mocks.core.routing.ApiRequest` ``GET /charges`` for the ERP's
:class:`~mocks.core.service.Service`, exactly as the in-process transport
builds it, and the :class:`~mocks.core.routing.ApiResponse` goes back as
bytes. One definition of each endpoint, two transports. ``GET /healthz``
answers 200 once the application is up.

The services are plain Python objects that the simulated firm and the
tests change as well. Every request is handled while holding ``lock``
(a :class:`threading.Lock` the caller may share), and handling is
synchronous and short, so a request never sees a half-made change and a
change never lands inside a request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from mocks.core.problems import NotFound, PayloadTooLarge
from mocks.core.routing import ApiRequest, ApiResponse, problem_response
from mocks.core.service import Service

HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 10 * 1024 * 1024  # more than any endpoint accepts; larger bodies are refused (413)

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class SystemsApp:
    """An ASGI 3 application serving ``services`` (system name -> Service), each under ``/{name}``."""

    def __init__(self, services: Mapping[str, Service], lock: threading.Lock | None = None) -> None:
        self.services = services
        self.lock = lock or threading.Lock()

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
        await _send(send, self.answer(scope, body))

    def answer(self, scope: dict[str, Any], body: bytes) -> ApiResponse:
        """The response to one HTTP request (``scope`` as ASGI gives it), from the system its path names."""
        path: str = scope["path"]
        if path == HEALTH_PATH:
            return ApiResponse(200, {"status": "ok", "systems": sorted(self.services)})
        name, _, rest = path.lstrip("/").partition("/")
        service = self.services.get(name)
        if service is None:
            return problem_response(NotFound(f"no mock system is served at /{name}; "
                                             f"systems: {', '.join(sorted(self.services))}"))
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        request = ApiRequest.build(scope["method"], "/" + rest, scope["query_string"].decode("latin-1"), headers, body)
        with self.lock:
            return service.handle(request)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


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


async def _send(send: Send, response: ApiResponse) -> None:
    await send({"type": "http.response.start", "status": response.status,
                "headers": [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.wire_headers().items()]})
    await send({"type": "http.response.body", "body": response.encode()})

