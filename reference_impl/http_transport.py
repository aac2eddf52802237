"""The connector process's HTTP transport: httpx's client over the standard library's ``http.client``.

The process calls the systems over plain HTTP/1.1 with small JSON bodies, a few calls for every webhook; httpx's
default transport (httpcore and h11) took about as much CPU per call as the rest of the connector's work.
:class:`KeptAliveTransport` is an ``httpx.BaseTransport``, so everything above it (``httpx.Client``,
:class:`~reference_impl.api.SystemClient`, what a test sees) is unchanged:

- each request is sent as httpx built it: its method, target (path and query) and headers, byte for byte and in
  order, and its body; the answer is an ``httpx.Response`` with the status, the headers as sent and the whole body
  (chunked or not: ``http.client`` reads it);
- connections are kept alive, one per request in flight to an origin, and used again once a whole answer has been
  read; one the server closed while it was idle is seen before it is used (the socket is readable) and opened
  afresh; one that failed, or whose answer said ``Connection: close``, is never used again. A request is never
  sent twice by the transport: a caller that gets an error decides what to do (the connector's inbox retries);
- the client's timeouts hold (``connect`` for opening a connection, ``read`` and ``write`` for each socket
  operation after it), and every failure is httpx's own exception, so ``except httpx.TransportError`` is what it
  was: ``ConnectTimeout``/``ConnectError`` opening, ``WriteTimeout``/``WriteError`` sending, ``ReadTimeout``,
  ``ReadError`` (reset), or ``RemoteProtocolError`` (closed without a whole answer) receiving.

Only ``http`` and ``https`` URLs; no proxies (the systems are reached directly).
"""

from __future__ import annotations

import http.client
import select
import threading
from typing import Any

import httpx

DEFAULT_TIMEOUT_S = 30.0


class KeptAliveTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._guard = threading.Lock()

    def _take(self, origin: tuple[str, str, int], connect_s: float | None) -> http.client.HTTPConnection:
        with self._guard:
            idle = self._idle.get(origin)
            while idle:
                connection = idle.pop()
                if connection.sock is not None and not select.select([connection.sock], [], [], 0)[0]:
                    return connection
                connection.close()  # readable while idle: the server closed it (or sent what nobody asked for)
        scheme, host, port = origin
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        return kind(host, port, timeout=connect_s)

    def _give_back(self, origin: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        with self._guard:
            self._idle.setdefault(origin, []).append(connection)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"the connector's transport speaks http and https, not {url.scheme!r}",
                                            request=request)
        timeout: dict[str, Any] = request.extensions.get("timeout") or {}
        connect_s = timeout.get("connect", DEFAULT_TIMEOUT_S)
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        connection = self._take(origin, connect_s)
        body = request.read()
        try:
            if connection.sock is None:
                try:
                    connection.connect()
                except TimeoutError as exc:
                    raise httpx.ConnectTimeout(str(exc), request=request) from exc
                except OSError as exc:
                    raise httpx.ConnectError(str(exc), request=request) from exc
            try:
                connection.sock.settimeout(timeout.get("write", DEFAULT_TIMEOUT_S))
                connection.putrequest(request.method, url.raw_path.decode("ascii"), skip_host=True,
                                      skip_accept_encoding=True)
                for name, value in request.headers.raw:
                    connection.putheader(name, value)
                connection.endheaders(body or None)
            except TimeoutError as exc:
                raise httpx.WriteTimeout(str(exc), request=request) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise httpx.WriteError(str(exc), request=request) from exc
            try:
                connection.sock.settimeout(timeout.get("read", DEFAULT_TIMEOUT_S))
                answer = connection.getresponse()
                content = answer.read()
            except TimeoutError as exc:
                raise httpx.ReadTimeout(str(exc), request=request) from exc
            except http.client.HTTPException as exc:
                raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}", request=request) from exc
            except OSError as exc:
                raise httpx.ReadError(str(exc), request=request) from exc
        except BaseException:
            connection.close()
            raise
        if answer.will_close:
            connection.close()
        else:
            self._give_back(origin, connection)
        return httpx.Response(answer.status, headers=answer.getheaders(), content=content, request=request,
                              extensions={"http_version": b"HTTP/1.1"})

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
