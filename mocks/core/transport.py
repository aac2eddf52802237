"""The in-process httpx transport: a connector's HTTP calls, minus the sockets.

``handle_request`` is the only method (as in httpx's ``BaseTransport``):
it routes by host to a :class:`~mocks.core.service.Service` and returns
a real ``httpx.Response``. Faults and tracing wrap this transport; they
never reach into handlers.

The response is the one ``httpx.Response(status, headers=..., content=body, request=request)`` makes (headers in
the same order, ``Content-Length`` added as httpx adds it, the body already read), built without reading the body
back through httpx's stream machinery, which cost more than the rest of a call's transport: see :func:`answer`.
It is an :class:`InProcessResponse`, whose ``json()`` reads the body with the systems' codec
(:mod:`mocks.core.json_codec`): the value ``json.loads`` reads, in less time.
"""

from __future__ import annotations

from typing import Any

import httpx
from httpx._content import ByteStream  # what httpx.Response(content=...) holds its body in
from httpx._decoders import IdentityDecoder  # what httpx reads a body without a Content-Encoding with

from mocks.core import json_codec
from mocks.core.routing import ApiRequest
from mocks.core.service import Service


class InProcessResponse(httpx.Response):
    """httpx's response; ``json()`` is httpx's (``json.loads`` of the body) read by :func:`json_codec.loads`, or by
    :func:`json_codec.loads_dumped` when ``dumped`` says the body is what :func:`json_codec.dumps` returned."""

    dumped = False

    def json(self, **kwargs: Any) -> Any:
        if kwargs:
            return super().json(**kwargs)
        return json_codec.loads_dumped(self.content) if self.dumped else json_codec.loads(self.content)


def read_response(status: int, headers: dict[str, str], content: bytes, request: httpx.Request | None) -> httpx.Response:
    """``httpx.Response(status, headers=headers, content=content, request=request)``: httpx's own construction."""
    return httpx.Response(status, headers=headers, content=content, request=request)


def _answer(status: int, headers: dict[str, str], content: bytes, request: httpx.Request | None) -> httpx.Response:
    """What :func:`read_response` makes, in a few steps: httpx adds ``Content-Length`` to a non-empty body that has
    none, then reads the body through its stream (marking the stream consumed and closed, choosing the decoder its
    ``Content-Encoding`` asks for, settling the headers' encoding); here the body is handed over as already read."""
    names = [name.lower() for name in headers]
    if content and "content-length" not in names:
        headers = {**headers, "Content-Length": str(len(content))}
    response = InProcessResponse(status, headers=headers, stream=ByteStream(content), request=request)
    response._content = content
    response.is_stream_consumed = True
    response.is_closed = True
    if "content-encoding" in names:
        response._get_content_decoder()  # the decoder it names, chosen as reading the body chooses it
    else:
        response.headers.encoding  # noqa: B018 -- settled, as choosing a decoder settles it
        response._decoder = IdentityDecoder()
    return response


def _state(response: httpx.Response) -> dict[str, Any]:
    """Everything a response holds, its parts (headers, stream, decoder) by their own attributes."""
    return {name: (type(value), value if name == "_request" else getattr(value, "__dict__", value))
            for name, value in vars(response).items()}


def _same_as_httpx() -> bool:
    """Whether :func:`_answer` makes what httpx makes, on this version of httpx (checked once, at import)."""
    request = httpx.Request("GET", "http://probe.c2c.test/")
    probes = [(200, {"content-type": "application/json", "etag": '"3"'}, b'{"id":"x"}'),
              (204, {}, b""), (201, {"Content-Length": "2", "location": "/x/1"}, b"{}"),
              (503, {"content-type": "application/problem+json", "retry-after": "2"}, b'{"status":503}')]
    try:
        return all(_state(_answer(*probe, request)) == _state(read_response(*probe, request)) for probe in probes)
    except (AttributeError, TypeError):
        return False


def _read_in_process(status: int, headers: dict[str, str], content: bytes,
                     request: httpx.Request | None) -> httpx.Response:
    """:func:`read_response`, as an :class:`InProcessResponse`."""
    return InProcessResponse(status, headers=headers, content=content, request=request)


# The response the transport answers with: httpx's own, made in fewer steps where that is the same thing.
answer = _answer if _same_as_httpx() else _read_in_process


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
        answered = answer(response.status, response.wire_headers(), response.encode(), request)
        if response.content is None and response.body is not None:  # its body encoded now, by json_codec.dumps
            answered.dumped = True
        return answered
