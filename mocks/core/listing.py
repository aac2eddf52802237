"""The two endpoints every collection has: a filtered, paginated list and a single read.

Filters compare the field's text with the query value and run inside the
pagination scan, so an item leaving the filter between pages (a sheet
approved while a poller walks ``?status=submitted``) cannot make the walk
skip the next one. A read of a versioned entity carries its ``ETag``.
"""

from __future__ import annotations

from typing import Any

from mocks.core.etag import etag
from mocks.core.pagination import paginate
from mocks.core.routing import ApiRequest, ApiResponse, Handler


def list_endpoint(backend: Any, collection: str, filters: tuple[str, ...] = ()) -> Handler:
    def handler(request: ApiRequest) -> ApiResponse:
        items = list(getattr(backend, collection).values())
        wanted = [(name, request.query[name]) for name in filters if name in request.query]

        def predicate(item: Any) -> bool:
            return all(str(getattr(item, name)) == value for name, value in wanted)

        return ApiResponse(200, paginate(request, items, lambda e: e.to_json(), predicate if wanted else None))
    return handler


def get_endpoint(backend: Any, collection: str) -> Handler:
    def handler(request: ApiRequest) -> ApiResponse:
        entity = backend.get(collection, request.params["id"])
        headers = {"etag": etag(entity.version)} if hasattr(entity, "version") else {}
        return ApiResponse(200, entity.to_json(), headers)
    return handler
