"""The two endpoints every collection has: a filtered, paginated list and a single read.

Filters compare the field's text with the query value and run inside the
pagination scan, so an item leaving the filter between pages (a sheet
approved while a poller walks ``?status=submitted``) cannot make the walk
skip the next one. A filter on a field that never changes once an item
exists (a charge's billing project) can be *indexed*: the walk then covers
that value's items only, as a real system's index would, instead of the
whole collection for every page; the cursor counts positions among those
items, which only ever grow at the end. A read of a versioned entity
carries its ``ETag``.

A listing narrowed by an indexed field whose groups the backend *revises*
(a billing project's charges: the revision moves whenever one of them is
created or changes) is a conditional read: each page carries an ``ETag``
made of the group's revision and the query, and a request whose
``If-None-Match`` names it is answered 304 Not Modified, without the page.
A client that keeps the tag of its last read learns in one small answer
that nothing in the group changed since.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from itertools import islice
from typing import Any

from mocks.core.etag import entity_response, listing_etag, none_match, not_modified
from mocks.core.pagination import page_bounds, paginate
from mocks.core.routing import ApiRequest, ApiResponse, Handler


class _GrowingIndex:
    """The items of an append-only collection (mocks never delete) grouped by a field that never changes."""

    def __init__(self, field: str) -> None:
        self.field = field
        self._source: dict[str, Any] | None = None
        self._seen = 0
        self._groups: dict[str, list[Any]] = defaultdict(list)

    def items(self, source: dict[str, Any], value: str) -> list[Any]:
        if source is not self._source or len(source) < self._seen:  # another collection: index it afresh
            self._source, self._seen, self._groups = source, 0, defaultdict(list)
        if len(source) > self._seen:
            for item in islice(source.values(), self._seen, None):
                self._groups[str(getattr(item, self.field))].append(item)
            self._seen = len(source)
        return self._groups.get(value, [])


def list_endpoint(backend: Any, collection: str, filters: tuple[str, ...] = (), indexed: tuple[str, ...] = (),
                  revised: Mapping[str, Callable[[str], int]] | None = None) -> Handler:
    """``GET /collection``; ``indexed`` names the filters on fields that never change, and ``revised`` gives, for
    some of them, a group's revision (value -> int): a listing narrowed by one is a conditional read (see the
    module docstring)."""
    indexes = {name: _GrowingIndex(name) for name in indexed}
    revisions = dict(revised or {})
    if not set(revisions) <= set(indexes):
        raise ValueError(f"only an indexed filter can be revised: {sorted(set(revisions) - set(indexes))}")

    def handler(request: ApiRequest) -> ApiResponse:
        source = getattr(backend, collection)
        wanted = [(name, request.query[name]) for name in filters if name in request.query]
        narrowed = next(((name, value) for name, value in wanted if name in indexes), None)
        if narrowed is None:
            items = list(source.values())
        else:
            items = indexes[narrowed[0]].items(source, narrowed[1])
            wanted.remove(narrowed)

        def predicate(item: Any) -> bool:
            return all(str(getattr(item, name)) == value for name, value in wanted)

        tag = None
        if narrowed is not None and narrowed[0] in revisions:
            tag = listing_etag(collection, revisions[narrowed[0]](narrowed[1]), request.query)
            if none_match(request, tag):
                page_bounds(request, len(items))  # a page that could not be read is a 400, not "unchanged"
                return not_modified(tag)
        page = paginate(request, items, lambda e: e.to_json(), predicate if wanted else None)
        return ApiResponse(200, page, {"etag": tag} if tag is not None else {})
    return handler


def get_endpoint(backend: Any, collection: str) -> Handler:
    def handler(request: ApiRequest) -> ApiResponse:
        return entity_response(backend.get(collection, request.params["id"]))
    return handler
