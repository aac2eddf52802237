"""Cursor pagination over insertion-ordered collections.

Mocks never delete records, so a cursor encoding "position of the next item"
is stable: pages never skip or repeat an item even while new items arrive.
The cursor is opaque (base64) so clients do not build it themselves.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from mocks.core.problems import BadRequest
from mocks.core.routing import ApiRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def _encode(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"cursor {cursor!r} was not issued by this API") from None


def paginate(request: ApiRequest, items: Sequence[Any], render: Callable[[Any], dict]) -> dict[str, Any]:
    limit = request.query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    cursor = request.query.get("cursor")
    start = _decode(cursor) if cursor else 0
    if start > len(items):
        raise BadRequest(f"cursor {cursor!r} points past the end of the collection")
    page = items[start : start + limit]
    end = start + len(page)
    return {
        "data": [render(item) for item in page],
        "next_cursor": _encode(end) if end < len(items) else None,
    }
