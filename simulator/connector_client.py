"""The connector's HTTP client in a simulated run: httpx's own, minus work it repeats on every call.

A connector in a year-long run makes hundreds of thousands of calls, most of them to a few dozen URLs. httpx
parses and validates each URL afresh (and again once its query parameters are added), and copies and
re-normalises a request's headers three times while it builds it; together with reading every response for
cookies, that was the largest cost of a run after the systems' own work. :class:`ConnectorClient` is an
``httpx.Client`` that does the same with less:

- a URL, with its query parameters, is parsed once and then reused, and the URL of one resource in a
  collection (``.../timesheets/tms_000042``) is made from its collection's: an ``httpx.URL`` is immutable, and
  the one reused or made is equal in every part to the one httpx would parse (:mod:`simulator.parsed_urls`).
- a request made of a URL, query parameters, headers and a JSON or form body (what a connector sends; not raw
  ``content``, ``files``, ``cookies``, a per-request ``timeout`` or ``extensions``) has its headers merged and
  completed in one pass, by httpx's own rules: the ``httpx.Request`` is the one ``httpx.Client.build_request``
  builds, the same method, URL, headers in the same order, body byte for byte and extensions
  (tests/test_connector_client.py compares the two). Any other request is built by httpx itself.
- a request with nothing for httpx's authentication and redirect loops to do (no ``auth``, no event hooks, no
  redirect to follow, not streamed) is handed to the transport without them: the same response, read, with
  its ``history`` and, for a redirect, its ``next_request`` (:meth:`ConnectorClient.send`);
- a response is never read for cookies (:class:`SetCookieIgnored`): the systems set none; what the connector
  sets itself is still sent.

Everything the transport does is its own: which system answers, faults, the trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from httpx._client import ClientState  # what Client.send marks a client that has sent
from httpx._content import encode_request  # what httpx.Request encodes a body with: the same bytes and headers

from simulator.parsed_urls import ParsedUrls

BODY_METHODS = ("POST", "PUT", "PATCH")  # an empty body of these is sent with Content-Length: 0, as httpx does


class SetCookieIgnored(httpx.Cookies):
    """Cookies the connector sends but never takes from a response: the systems set none, and looking (httpx
    builds a urllib request and response for its cookie jar to read) was about 3% of a run's CPU."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class ConnectorClient(httpx.Client):
    """httpx's client, building its requests with less work (see the module's docstring); its cookie store a
    :class:`SetCookieIgnored` whatever is assigned to ``cookies``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = self._cookies
        self._parsed = ParsedUrls()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._cookies = SetCookieIgnored(cookies)

    def _has_cookies(self) -> bool:
        """``bool(self.cookies)``, told at once when the jar has never held a cookie (the usual case: the
        systems set none, and this client takes none from a response)."""
        if not getattr(self._cookies.jar, "_cookies", True):  # the standard library's CookieJar, empty
            return False
        return bool(self.cookies)

    def parse_url(self, url: str, params: Any) -> httpx.URL | None:
        """``url`` merged with the base URL and ``params`` added, as httpx builds it; None for a relative result."""
        merged = self._merge_url(url)
        if merged.is_relative_url:
            return None
        params = self._merge_queryparams(params)
        return merged if params is None else httpx.URL(merged, params=params)

    def build_request(self, method: str, url: httpx.URL | str, *, content: Any = None, data: Any = None,
                      files: Any = None, json: Any = None, params: Any = None, headers: Any = None,
                      cookies: Any = None, timeout: Any = httpx.USE_CLIENT_DEFAULT,
                      extensions: Any = None) -> httpx.Request:
        """httpx's ``Client.build_request``: the same request, built in one pass when it is a plain one."""
        plain = (content is None and files is None and cookies is None and extensions is None
                 and timeout is httpx.USE_CLIENT_DEFAULT and isinstance(url, str)
                 and (data is None or isinstance(data, Mapping)) and not self.params and not self._has_cookies())
        try:
            target = self._parsed.get(self, url, params) if plain else None
        except Exception:  # a URL or parameters httpx refuses: let httpx refuse them, in its own order
            target = None
        if target is None:
            return super().build_request(method, url, content=content, data=data, files=files, json=json,
                                         params=params, headers=headers, cookies=cookies, timeout=timeout,
                                         extensions=extensions)
        method = method.upper()
        client = self.headers.raw
        given = _ascii_items(headers) if all(name.isascii() and value.isascii() for name, value in client) else None
        merged = self._merge_headers(headers) if given is None else None  # before the body is encoded, as httpx does
        body_headers, stream = encode_request(data=data, json=json)
        if merged is None:
            sent = _ascii_completed(client, given, body_headers, target, method)
        else:
            sent = _completed(merged, body_headers, target, method)
        request = httpx.Request(method, target, headers=sent, stream=stream,
                                extensions={"timeout": self.timeout.as_dict()})
        request.read()  # as httpx loads a request's body when it builds it
        return request

    def send(self, request: httpx.Request, *, stream: bool = False, auth: Any = httpx.USE_CLIENT_DEFAULT,
             follow_redirects: Any = httpx.USE_CLIENT_DEFAULT) -> httpx.Response:
        """httpx's ``Client.send``. A request its authentication and redirect loops have nothing to do for goes
        through what they would do to it: sent once by ``_send_single_request``, given an empty ``history``
        (and its ``next_request``, were it a redirect), read, and closed if anything fails after it was sent."""
        if (stream or auth is not httpx.USE_CLIENT_DEFAULT or follow_redirects is not httpx.USE_CLIENT_DEFAULT
                or self.follow_redirects or self.auth is not None or self.event_hooks["request"]
                or self.event_hooks["response"] or self.is_closed or self.max_redirects < 0
                or request.url.username or request.url.password):
            return super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        self._state = ClientState.OPENED
        self._set_timeout(request)
        response = self._send_single_request(request)
        try:
            response.history = []
            if response.has_redirect_location:
                response.next_request = self._build_redirect_request(request, response)
            response.read()
        except BaseException:
            response.close()
            raise
        return response


def _ascii_items(headers: Any) -> list[tuple[bytes, bytes, bytes]] | None:
    """A request's headers as (name, lower-case name, value) bytes, when they are none or a ``dict`` of ASCII text;
    None for anything else (httpx's Headers then merge them)."""
    if headers is None:
        return []
    if type(headers) is dict and all(type(name) is str and type(value) is str and name.isascii() and value.isascii()
                                     for name, value in headers.items()):
        return [(name.encode(), name.lower().encode(), value.encode()) for name, value in headers.items()]
    return None


def _completed(merged: httpx.Headers, body_headers: dict[str, str], target: httpx.URL,
               method: str) -> list[tuple[bytes, bytes]]:
    """The headers a request is sent with, as httpx's Request.__init__ completes the client's merged ones: the body's
    content headers where there are none, and ``Host`` (and an empty body's ``Content-Length: 0``) first."""
    for key, value in body_headers.items():
        if key.lower() == "transfer-encoding" and "Content-Length" in merged:
            continue
        merged.setdefault(key, value)
    auto: list[tuple[bytes, bytes]] = []
    if "Host" not in merged and target.host:
        auto.append((b"Host", target.netloc))
    if method in BODY_METHODS and "Content-Length" not in merged and "Transfer-Encoding" not in merged:
        auto.append((b"Content-Length", b"0"))
    return auto + merged.raw


def _ascii_completed(client: list[tuple[bytes, bytes]], given: list[tuple[bytes, bytes, bytes]],
                     body_headers: dict[str, str], target: httpx.URL, method: str) -> list[tuple[bytes, bytes]]:
    """What :func:`_completed` makes of the client's headers merged with the request's, on plain lists, for ASCII
    headers on both sides (``client`` as ``Headers.raw``, the request's as :func:`_ascii_items` gives them): there
    httpx's matching of names and its encoding come down to ASCII lower-casing. A request's header replaces the
    client's of the same name; the request's keep their order after the client's."""
    replaced = {lower for _, lower, _ in given}
    merged = [(name, name.lower(), value) for name, value in client if name.lower() not in replaced] + given
    names = {lower for _, lower, _ in merged}
    for key, value in body_headers.items():
        lower = key.lower().encode()
        if lower == b"transfer-encoding" and b"content-length" in names:
            continue
        if lower not in names:
            merged.append((key.encode(), lower, value.encode()))
            names.add(lower)
    auto: list[tuple[bytes, bytes]] = []
    if b"host" not in names and target.host:
        auto.append((b"Host", target.netloc))
    if method in BODY_METHODS and b"content-length" not in names and b"transfer-encoding" not in names:
        auto.append((b"Content-Length", b"0"))
    return auto + [(name, value) for name, _, value in merged]
