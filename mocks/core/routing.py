"""Transport-neutral requests, responses and a precompiled route table.

One definition of each endpoint serves every transport: the in-process
httpx transport and the ASGI server both build an :class:`ApiRequest`, ask
the system's :class:`Service` to handle it and serialise the
:class:`ApiResponse`. Handlers never see a transport object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from mocks.core import json_codec
from mocks.core.problems import BadRequest, MethodNotAllowed, NotFound, Problem

if TYPE_CHECKING:
    from mocks.core.openapi import Operation

_PARAM = re.compile(r"\{(\w+)\}")

# Deeper JSON than any endpoint needs is refused up front: a parser or encoder recursing through it would
# otherwise hit Python's recursion limit somewhere far from the request.
MAX_JSON_DEPTH = 64

KEPT_QUERIES = 1024  # query strings whose parse is kept: a feed poller sends the same few again and again
_parsed_queries: dict[str, tuple[tuple[str, str], ...]] = {}


def parsed_query(query_string: str) -> dict[str, str]:
    """``dict(parse_qsl(query_string, keep_blank_values=True))``, a fresh dict each time; the parse of a recent
    query string is kept and reused (it is a pure function of the text)."""
    pairs = _parsed_queries.get(query_string)
    if pairs is None:
        pairs = tuple(parse_qsl(query_string, keep_blank_values=True))
        if len(_parsed_queries) >= KEPT_QUERIES:
            _parsed_queries.clear()  # whole, in one step (requests served on threads share the dict)
        _parsed_queries[query_string] = pairs
    return dict(pairs)


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels deep (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@dataclass(slots=True)
class ApiRequest:
    """One request, whichever transport carried it. ``query`` keeps a parameter sent empty (``?limit=``) as
    ``""``, so it is read (and refused) as what was sent, never mistaken for an absent one."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    client_id: str | None = None

    @classmethod
    def build(cls, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes) -> ApiRequest:
        return cls(method.upper(), path, parsed_query(query_string), headers, body)

    def json(self) -> Any:
        if not self.body:
            raise BadRequest("request body is empty; a JSON object is required")
        try:
            value = json_codec.loads(self.body)
        except RecursionError:
            raise BadRequest(f"request body is nested too deeply; at most {MAX_JSON_DEPTH} levels of objects and "
                             "arrays are allowed") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from None
        # A value nests no deeper than the body has brackets (those in strings only add to the count), so a body
        # with few of them needs no walk: most requests skip it.
        if self.body.count(b"[") + self.body.count(b"{") > MAX_JSON_DEPTH and _too_deep(value, MAX_JSON_DEPTH):
            raise BadRequest(f"request body is nested too deeply; at most {MAX_JSON_DEPTH} levels of objects and "
                             "arrays are allowed")
        return value

    def query_int(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from None
        if not lo <= value <= hi:
            raise BadRequest(f"query parameter {name!r} must be between {lo} and {hi}, got {value}")
        return value


@dataclass(slots=True)
class ApiResponse:
    """A response before serialisation.

    ``body`` is JSON-able data, encoded when the transport sends it. A
    response whose bytes are already fixed (an idempotent replay) carries
    them in ``content`` instead; :meth:`encode` then returns them unchanged.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None

    def encode(self) -> bytes:
        if self.content is not None:
            return self.content
        if self.body is None:
            return b""
        return json_codec.dumps(self.body)

    def wire_headers(self) -> dict[str, str]:
        """The headers as every transport sends them: JSON unless the response names another content type."""
        headers = dict(self.headers)
        headers.setdefault("content-type", "application/json")
        return headers

    def frozen(self) -> ApiResponse:
        """This response with its body encoded now: later changes to the entities it showed cannot reach it."""
        return ApiResponse(self.status, None, dict(self.headers), self.encode())


def problem_response(problem: Problem) -> ApiResponse:
    """The problem as ``application/problem+json``, with the headers its status code requires."""
    return ApiResponse(problem.status, problem.to_json(), {**problem.headers, "content-type": "application/problem+json"})


Handler = Callable[[ApiRequest], ApiResponse]


def _specificity(template: str) -> tuple[int, ...]:
    """Sort key: position by position, a literal segment (0) before a ``{param}`` (1)."""
    return tuple(1 if _PARAM.search(segment) else 0 for segment in template.split("/"))


class RouteTable:
    """Maps (method, path) to a handler with one regex match per request.

    All templates compile into a single alternation, so dispatch cost does
    not grow with the number of routes a system declares. Where two
    templates match the same path, the one with a literal segment at the
    first position where they differ wins (``/invoices/summary`` over
    ``/invoices/{id}``), whatever order they were registered in.

    Each route may carry its :class:`~mocks.core.openapi.Operation` (what it
    accepts and answers), from which the system's OpenAPI document is built.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Handler, Operation | None]] = []
        self._compiled: re.Pattern[str] | None = None
        self._groups: list[tuple[str, dict[str, Handler], list[str]]] = []

    def add(self, method: str, template: str, handler: Handler, spec: Operation | None = None) -> None:
        self._routes.append((method.upper(), template, handler, spec))
        self._compiled = None

    def specs(self) -> list[tuple[str, str, Operation | None]]:
        """Every route as (method, template, its spec or None), in registration order."""
        return [(method, template, spec) for method, template, _, spec in self._routes]

    def _compile(self) -> None:
        by_template: dict[str, dict[str, Handler]] = {}
        for method, template, handler, _ in self._routes:
            by_template.setdefault(template, {})[method] = handler
        parts = []
        self._groups = []
        ordered = sorted(by_template.items(), key=lambda item: _specificity(item[0]))  # stable: ties keep registration order
        for i, (template, methods) in enumerate(ordered):
            names = _PARAM.findall(template)
            escaped = re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            regex = _PARAM.sub(lambda m, i=i: f"(?P<r{i}_{m.group(1)}>[^/]+)", escaped)
            parts.append(f"(?P<r{i}>{regex})")
            self._groups.append((template, methods, names))
        self._compiled = re.compile("^(?:" + "|".join(parts) + ")$")

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        if self._compiled is None:
            self._compile()
        assert self._compiled is not None
        m = self._compiled.match(path)
        if m is None:
            raise NotFound(f"no resource at {path}")
        index = int(m.lastgroup[1:]) if m.lastgroup else 0
        template, methods, names = self._groups[index]
        handler = methods.get(method)
        if handler is None:
            raise MethodNotAllowed(f"{method} is not allowed on {template}; allowed: {', '.join(sorted(methods))}",
                                   allowed=list(methods))
        return handler, {name: m.group(f"r{index}_{name}") for name in names}
