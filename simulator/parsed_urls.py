"""The URLs a connector's client sends to, parsed as httpx parses them, with most of the parsing done once.

httpx parses and validates every URL it is given, and again once query parameters are added: about a tenth of an
in-process call's cost. A connector sends to few URLs again and again (feeds, tokens, batches), and to many that
differ only in their last segment (``/timesheets/tms_000042``). :class:`ParsedUrls` answers both without parsing:

- a URL it parsed lately (the most recent :data:`KEPT_URLS`, with their query parameters) is reused. An
  ``httpx.URL`` is immutable, so the one reused is the one httpx would parse again.
- a URL that names a resource in a collection it has seen, ``<collection>/<name>`` with a name of letters, digits,
  ``_`` and ``-`` only, is made from the collection's parse: httpx's parser keeps such a name exactly as it is
  (nothing to percent-encode, not a dot segment), and the rest of the URL parses as the collection's does. That is
  checked against httpx's own parser at import (:func:`_made_as_httpx_parses`); if it ever differs, every URL is
  parsed by httpx.

A change of the client's ``base_url`` forgets every URL kept.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from simulator.connector_client import ConnectorClient

KEPT_URLS = 1024  # parsed URLs kept; a run's recurring ones (feeds, tokens, batches) are far fewer
KEPT_COLLECTIONS = 256  # collections kept to make their resources' URLs from
KEYED_TYPES = (str, int)  # query parameter values a kept URL is found by (``type(value)``: a bool is not kept)
NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")  # a last segment httpx's parser keeps exactly as it is
ABSOLUTE = ("http://", "https://")
LONGEST_MADE = 2048  # longer URLs are left to httpx (which refuses some too long to send)


def in_collection(collection: httpx.URL, name: str) -> httpx.URL:
    """``httpx.URL(str(collection) + name)`` for a ``collection`` URL ending in ``/`` (no query, no fragment) and a
    :data:`NAME`: the collection's parse with ``name`` added to its path."""
    url = httpx.URL.__new__(httpx.URL)
    scheme, userinfo, host, port, path, query, fragment = reference = collection._uri_reference
    url._uri_reference = type(reference)(scheme, userinfo, host, port, path + name, query, fragment)
    return url


def _made_as_httpx_parses() -> bool:
    """Whether :func:`in_collection` makes what httpx's parser makes, on this version of httpx."""
    probes = [("http://psa.c2c.test/timesheets/", "tms_000001"), ("https://u:p@erp.c2c.test:8443/v1/a%20b/", "x-1_Z"),
              ("http://crm.c2c.test/", "accounts"), ("http://ÉRP.c2c.test/./p/../q/", "n"), ("http://[::1]:80/c/", "9")]
    try:
        return all(in_collection(httpx.URL(collection), name)._uri_reference == httpx.URL(collection + name)._uri_reference
                   for collection, name in probes)
    except (AttributeError, TypeError, ValueError):
        return False


MADE_AS_HTTPX_PARSES = _made_as_httpx_parses()


class ParsedUrls:
    """The URLs one client sent to lately, by the text and query parameters they were given as.

    Only what httpx would parse the same way again is kept: an absolute URL, with its parameters (if any) given
    as a ``dict`` of text names and text or integer values (``1 == True == 1.0``, so a key taking any number
    would let two spellings share one entry), for one ``base_url`` and no client-wide parameters
    (:meth:`ConnectorClient.build_request` asks only then).
    """

    def __init__(self, capacity: int = KEPT_URLS) -> None:
        self.capacity = capacity
        self._urls: dict[Any, httpx.URL] = {}
        self._made: dict[str, httpx.URL] = {}  # URLs made from their collection's, the most recent
        self._collections: dict[str, httpx.URL | None] = {}  # "<collection>/" -> its URL (None: not one to build on)
        self._base: httpx.URL | None = None

    def get(self, client: ConnectorClient, url: str, params: Any) -> httpx.URL | None:
        """The URL ``client.build_request(method, url, params=params)`` sends to, or None if it is not one kept."""
        if client.base_url is not self._base:  # the client's base changed: every URL merged with the old one goes
            self._urls.clear()
            self._made.clear()
            self._base = client.base_url
        if params is None:
            key: Any = url
        elif type(params) is dict and all(type(k) is str and type(v) in KEYED_TYPES for k, v in params.items()):
            key = (url, tuple(params.items()))
        else:
            return None
        parsed = self._urls.get(key)
        if parsed is None:
            if params is None and MADE_AS_HTTPX_PARSES:
                parsed = self._made.get(url)
                if parsed is None:
                    parsed = self._in_known_collection(url)
                    if parsed is not None:  # kept apart: a resource's URL, seldom sent to twice, must not push the
                        if len(self._made) >= self.capacity:  # parsed ones (with parameters, dearer to parse) out
                            del self._made[next(iter(self._made))]
                        self._made[url] = parsed
                if parsed is not None:
                    return parsed
            parsed = client.parse_url(url, params)
            if parsed is None:
                return None
            if len(self._urls) >= self.capacity:
                del self._urls[next(iter(self._urls))]  # the oldest kept
            self._urls[key] = parsed
        return parsed

    def _in_known_collection(self, url: str) -> httpx.URL | None:
        """``httpx.URL(url)`` made from its collection's URL, for an absolute ``<collection>/<name>`` (see the module's
        docstring); None for any other URL."""
        collection, _, name = url.rpartition("/")
        if not (NAME.fullmatch(name) and url.startswith(ABSOLUTE) and collection.count("/") >= 2
                and "?" not in collection and "#" not in collection and len(url) <= LONGEST_MADE):
            return None
        collection += "/"
        parsed = self._collections.get(collection)
        if parsed is None and collection not in self._collections:
            try:
                parsed = httpx.URL(collection)
            except httpx.InvalidURL:
                parsed = None
            if parsed is not None and (parsed.is_relative_url or not parsed.path.endswith("/")):
                parsed = None
            if len(self._collections) >= KEPT_COLLECTIONS:
                self._collections.clear()
            self._collections[collection] = parsed
        return None if parsed is None else in_collection(parsed, name)
