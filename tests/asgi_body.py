"""What the stand-in ASGI servers of the tests share: reading a request's whole body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


async def whole_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The request's body, every ``http.request`` message of it, in order."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
