"""Cursor pagination over insertion-ordered collections.

Mocks never delete records, so a cursor encoding "position of the next item
in the whole collection" is stable: pages never skip or repeat an item even
while new items arrive. A filtered list (``?status=submitted``) passes its
filter as a ``predicate`` and is scanned forward from that position, so the
cursor still counts *unfiltered* positions: an item entering or leaving the
filter between pages cannot shift the items after it, and none is skipped.
The cursor is opaque (base64 of ``p<position>``) so clients do not build it
themselves; anything else, a negative position or a position beyond the
end of the collection is a 400.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import Any

from mocks.core.problems import BadRequest
from mocks.core.routing import ApiRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

_CURSOR = re.compile(r"p[0-9]+")  # ASCII digits only: no sign, no Unicode digits


def _encode(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def first_page_cursor() -> str:
    """The cursor of a collection's first item: valid for every collection, however many items it has."""
    return _encode(0)


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    if not _CURSOR.fullmatch(raw):
        raise BadRequest(f"cursor {cursor!r} was not issued by this API")
    return int(raw[1:])


def page_bounds(request: ApiRequest, count: int) -> tuple[int, int]:
    """The page's ``limit`` and the position its ``cursor`` points at, in a collection of ``count`` items; a 400
    naming the parameter for a bad one."""
    limit = request.query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    cursor = request.query.get("cursor")
    start = _decode(cursor) if cursor else 0
    if start > count:
        raise BadRequest(f"cursor {cursor!r} points past the end of the collection")
    return limit, start


def paginate(request: ApiRequest, items: Sequence[Any], render: Callable[[Any], dict],
             predicate: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """One page of the items that satisfy ``predicate`` (all when None), in collection order.

    ``next_cursor`` is None exactly when no later item satisfies the
    predicate at the time of the call, so a walk ends without an empty page.
    """
    limit, start = page_bounds(request, len(items))
    page: list[Any] = []
    page_end, resume = start, None
    for position in range(start, len(items)):
        item = items[position]
        if predicate is not None and not predicate(item):
            continue
        if len(page) == limit:
            resume = page_end  # a further match exists: resume right after the last item shown
            break
        page.append(item)
        page_end = position + 1
    return {
        "data": [render(item) for item in page],
        "next_cursor": _encode(resume) if resume is not None else None,
    }
