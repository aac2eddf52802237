"""The connector process's HTTP transport: httpx's client over a plain HTTP/1.1 socket.

The process calls the systems over plain HTTP/1.1 with small JSON bodies, a few calls for every webhook; httpx's
default transport (httpcore and h11) took about as much CPU per call as the rest of the connector's work, and the
standard library's ``http.client`` spent most of its own reading each answer's headers through the ``email``
package. :class:`KeptAliveTransport` is an ``httpx.BaseTransport``, so everything above it (``httpx.Client``,
:class:`~reference_impl.api.SystemClient`, what a test sees) is unchanged:

- each request is sent as httpx built it: its method, target (path and query) and headers, byte for byte and in
  order, then its body, in one write; the answer is an ``httpx.Response`` with the status, the headers as sent and
  the whole body (by ``Content-Length``, chunked, or up to the close; none for ``HEAD``, 204 and 304; a ``1xx``
  interim answer is skipped);
- connections are kept alive, one per request in flight to an origin, and used again once a whole answer has been
  read; one the server closed while it was idle is seen before it is used (the socket is readable) and opened
  afresh; one that failed, or whose answer said ``Connection: close`` (or was HTTP/1.0 without keep-alive), is
  never used again. A request is never sent twice by the transport: a caller that gets an error decides what to
  do (the connector's inbox retries);
- the client's timeouts hold (``connect`` for opening a connection, ``read`` and ``write`` for each socket
  operation after it), and every failure is httpx's own exception, so ``except httpx.TransportError`` is what it
  was: ``ConnectTimeout``/``ConnectError`` opening, ``WriteTimeout``/``WriteError`` sending, ``ReadTimeout``,
  ``ReadError`` (reset), or ``RemoteProtocolError`` (closed without a whole answer, or not HTTP) receiving; a
  header with a line break in it is ``LocalProtocolError``, and nothing is sent.

Only ``http`` and ``https`` URLs; no proxies (the systems are reached directly).
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from typing import Any, BinaryIO

import httpx

DEFAULT_TIMEOUT_S = 30.0
MAX_LINE = 65536  # the longest status, header or chunk-size line read
MAX_HEADERS = 200
NO_BODY = frozenset({204, 304})


class _Short(Exception):
    """The answer ended early, or is not HTTP/1.x: the connection is done for."""


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")

    def closed_while_idle(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])  # readable while idle: closed (or talking out of turn)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise _Short("a line of the answer is too long")
    if not line:
        raise _Short("the server closed the connection before the answer was whole")
    return line


def _header_lines(reader: BinaryIO) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    while (line := _line(reader)) not in (b"\r\n", b"\n"):
        if line[0] in b" \t" and headers:  # an obsolete folded line continues the last header
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise _Short(f"not a header line: {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
        if len(headers) > MAX_HEADERS:
            raise _Short("too many headers")
    return headers


def _exactly(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise _Short(f"the server closed the connection {size - len(data)} bytes short of the body")
    return data


def _chunked(reader: BinaryIO) -> bytes:
    parts = []
    while True:
        line = _line(reader)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _Short(f"not a chunk size: {line[:80]!r}") from None
        if size == 0:
            _header_lines(reader)  # the trailer, if any
            return b"".join(parts)
        parts.append(_exactly(reader, size))
        _line(reader)  # the chunk's CRLF


def _answer(reader: BinaryIO, method: str) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
    """Read one answer: (version, status, reason, headers, body, whether the connection closes after it)."""
    while True:
        version, _, rest = _line(reader).rstrip(b"\r\n").partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise _Short(f"not an HTTP/1.x status line: {version + b' ' + rest!r:.80}")
        status = int(code)
        headers = _header_lines(reader)
        if not 100 <= status < 200 or status == 101:
            break  # a 1xx interim answer (100 Continue, 103 Early Hints) is followed by the answer
    values: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    tokens = {t.strip().lower() for v in values.get(b"connection", ()) for t in v.split(b",")}
    closes = b"close" in tokens or (version == b"HTTP/1.0" and b"keep-alive" not in tokens)
    if method == "HEAD" or status in NO_BODY or status < 200:
        body = b""
    elif any(b"chunked" in v.lower() for v in values.get(b"transfer-encoding", ())):
        body = _chunked(reader)
    elif b"content-length" in values:
        try:
            length = int(values[b"content-length"][0])
        except ValueError:
            raise _Short(f"not a Content-Length: {values[b'content-length'][0][:40]!r}") from None
        body = _exactly(reader, length)
    else:  # the body runs to the close
        body, closes = reader.read(), True
    return version, status, reason, headers, body, closes


class KeptAliveTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._guard = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def _take(self, origin: tuple[str, str, int]) -> _Connection | None:
        with self._guard:
            idle = self._idle.get(origin)
            while idle:
                connection = idle.pop()
                if not connection.closed_while_idle():
                    return connection
                connection.close()
        return None

    def _open(self, origin: tuple[str, str, int], connect_s: float | None, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=connect_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._tls is None:
                    self._tls = ssl.create_default_context()
                sock = self._tls.wrap_socket(sock, server_hostname=host)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        return _Connection(sock)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"the connector's transport speaks http and https, not {url.scheme!r}",
                                            request=request)
        lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
        for name, value in request.headers.raw:
            if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
                raise httpx.LocalProtocolError(f"header {name!r} has a line break in it", request=request)
            lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"\r\n")
        lines.append(request.read())
        timeout: dict[str, Any] = request.extensions.get("timeout") or {}
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        connection = self._take(origin) or self._open(origin, timeout.get("connect", DEFAULT_TIMEOUT_S), request)
        try:
            try:
                connection.sock.settimeout(timeout.get("write", DEFAULT_TIMEOUT_S))
                connection.sock.sendall(b"".join(lines))
            except TimeoutError as exc:
                raise httpx.WriteTimeout(str(exc), request=request) from exc
            except OSError as exc:
                raise httpx.WriteError(str(exc), request=request) from exc
            try:
                connection.sock.settimeout(timeout.get("read", DEFAULT_TIMEOUT_S))
                version, status, reason, headers, body, closes = _answer(connection.reader, request.method)
            except TimeoutError as exc:
                raise httpx.ReadTimeout(str(exc), request=request) from exc
            except _Short as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            except OSError as exc:
                raise httpx.ReadError(str(exc), request=request) from exc
        except BaseException:
            connection.close()
            raise
        if closes:
            connection.close()
        else:
            with self._guard:
                self._idle.setdefault(origin, []).append(connection)
        return httpx.Response(status, headers=headers, content=body, request=request,
                              extensions={"http_version": version, "reason_phrase": reason})

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
