"""The in-process httpx transport: a connector's HTTP calls, minus the sockets.

``handle_request`` is the only method (as in httpx's ``BaseTransport``):
it routes by host to a :class:`~mocks.core.service.Service` and returns
a real ``httpx.Response``. Faults and tracing wrap this transport; they
never reach into handlers.
"""

from __future__ import annotations

import httpx

from mocks.core.routing import ApiRequest
from mocks.core.service import Service


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, services_by_host: dict[str, Service]) -> None:
        self.services_by_host = services_by_host

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        service = self.services_by_host.get(url.host)
        if service is None:
            raise httpx.ConnectError(f"no mock system listens on {url.host}", request=request)
        api_request = ApiRequest.build(
            request.method,
            url.path,
            url.query.decode(),
            {k.decode().lower(): v.decode() for k, v in request.headers.raw},
            request.read(),
        )
        response = service.handle(api_request)
        return httpx.Response(response.status, headers=response.wire_headers(), content=response.encode(),
                              request=request)
