"""One mock system behind one ``handle(request) -> response`` entry point.

The service wires a backend's route table together with the cross-cutting
API conventions every system shares: OAuth2 bearer tokens,
``Idempotency-Key`` on POST where the system honours it, per-client rate
limits (429 with ``Retry-After``) when one is set, RFC 9457 errors,
the change feed at ``GET /events`` and the ``/_c2c`` control endpoints.
Transports (in-process, ASGI) call :meth:`Service.handle` and nothing else.

``GET /openapi.json`` serves the system's OpenAPI 3.1 document, built
from the route table on first request (:mod:`mocks.core.openapi`).

Public paths (the token endpoint, the OpenAPI document) and the ``/_c2c``
control endpoints need no bearer token and bypass the idempotency layer:
a token response is never stored or replayed, so every POST /oauth/token
issues a fresh token whatever ``Idempotency-Key`` it carries.

Whatever a handler raises, :meth:`Service.handle` answers with a problem
document: a :class:`Problem` as itself, anything else (a bug in the mock) as
a 500 ``internal_error`` naming the exception type. No exception escapes
to the transport, and an idempotent POST that failed so stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mocks.core.auth import TOKEN_OPERATION, TokenIssuer
from mocks.core.backend import Backend
from mocks.core.idempotency import IdempotencyStore
from mocks.core.openapi import Operation, Shape, build_document
from mocks.core.problems import InternalError, Problem
from mocks.core.ratelimit import RateLimiter
from mocks.core.routing import ApiRequest, ApiResponse, RouteTable, problem_response

PUBLIC_PATHS = frozenset({"/oauth/token", "/openapi.json"})

FEED_PATH = "/events"  # every system's change feed
FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 1000

EVENTS_OPERATION = Operation(
    "listEvents", "Read the change feed: every change in commit order",
    Shape({"type": "object", "required": ["data", "next_cursor"], "additionalProperties": False, "properties": {
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/ChangeEvent"}},
        "next_cursor": {"type": "string", "pattern": "^[0-9]+$",
                        "description": "always present; pass as `after` to read on (it moves past events the "
                                       "type filter skipped)"},
    }}),
    query={
        "after": {"type": "string", "format": "feed-cursor",
                  "description": "read events after this cursor; omitted or empty: from the start; beyond the head: "
                                 "a 400; older than retention: a 410"},
        "limit": {"type": "integer", "minimum": 1, "maximum": FEED_MAX_LIMIT, "default": FEED_DEFAULT_LIMIT,
                  "description": "events per page"},
        "types": {"type": "string", "description": "comma-separated event types to keep (full names, e.g. "
                                                   "`erp.invoice.posted`); the others are skipped"},
    },
    errors=(400, 410),
)
OPENAPI_OPERATION = Operation("getOpenApiDocument", "This document", Shape({"type": "object"}), public=True)

log = logging.getLogger("c2c.mocks")


class Service:
    def __init__(
        self,
        backend: Backend,
        routes: RouteTable,
        clients: dict[str, str],
        idempotent_posts: bool = False,
        snapshot: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.backend = backend
        self.name = backend.system
        self.routes = routes
        now = backend.clock.now
        self.tokens = TokenIssuer(self.name, clients, now)
        self.idempotency = IdempotencyStore(now) if idempotent_posts else None
        self.rate_limiter: RateLimiter | None = None  # off unless a scenario sets one
        self._snapshot = snapshot or (lambda: {})
        self._document: dict[str, Any] | None = None
        routes.add("POST", "/oauth/token", self.tokens.token_endpoint, spec=TOKEN_OPERATION)
        routes.add("GET", FEED_PATH, self._events, spec=EVENTS_OPERATION)
        routes.add("GET", "/openapi.json", self._openapi, spec=OPENAPI_OPERATION)
        routes.add("GET", "/_c2c/state", lambda request: ApiResponse(200, self._snapshot()))  # harness only: no spec

    def openapi(self) -> dict[str, Any]:
        """This system's OpenAPI document (built once: the route table does not change after construction)."""
        if self._document is None:
            self._document = build_document(self)
        return self._document

    def _openapi(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.openapi())

    def keep_time_with(self, now: Callable[[], float], speed: float = 1.0) -> None:
        """Measure what HTTP clients measure with ``now`` from here on: token lifetime, ``Idempotency-Key``
        retention and ``Retry-After``. Business dates stay the backend's clock, and so does a rate limit's
        refill (the scenario's limit is per simulated second); ``speed`` is how many of the backend's seconds
        pass per second of ``now``, to tell a 429's wait on ``now``.

        Served mode calls it with the wall clock before the first request: a client counts those in wall
        seconds, whatever the simulated calendar's speed.
        """
        for measured in (self.tokens, self.idempotency):
            if measured is not None:
                measured.now = now
        if self.rate_limiter is not None:
            self.rate_limiter.tell_wait_on(now, speed)

    def _events(self, request: ApiRequest) -> ApiResponse:
        """``GET /events?after=CURSOR&limit=N[&types=a,b]``: the change feed, optionally filtered by type."""
        limit = request.query_int("limit", FEED_DEFAULT_LIMIT, 1, FEED_MAX_LIMIT)
        types = request.query.get("types")
        wanted = frozenset(t for t in types.split(",") if t) if types else None
        events, next_cursor = self.backend.feed.read(request.query.get("after"), limit, wanted)
        return ApiResponse(200, {"data": [e.to_json() for e in events], "next_cursor": str(next_cursor)})

    def handle(self, request: ApiRequest) -> ApiResponse:
        try:
            handler, request.params = self.routes.match(request.method, request.path)
            public = request.path in PUBLIC_PATHS or request.path.startswith("/_c2c/")
            if not public:
                request.client_id = self.tokens.authenticate(request)
                if self.rate_limiter is not None:
                    self.rate_limiter.admit(request.client_id)
            key = request.headers.get("idempotency-key")
            if key and request.method == "POST" and self.idempotency is not None and not public:
                return self.idempotency.handle(request, key, handler)
            return handler(request)
        except Problem as problem:
            return problem_response(problem)
        except Exception as exc:  # last resort: a bug in the mock still answers in the API's error format
            log.exception("%s %s %s failed", self.name, request.method, request.path)
            return problem_response(InternalError(
                f"the {self.name} mock failed on {request.method} {request.path} with {type(exc).__name__}; "
                "this is a bug in the mock, not in the request", exception=type(exc).__name__))
