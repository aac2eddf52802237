"""Optimistic concurrency: ``ETag`` on reads, ``If-Match`` on updates; and conditional reads of a listing:
``ETag`` on a page of a revised group, ``If-None-Match`` answered with 304 Not Modified."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mocks.core.problems import PreconditionFailed
from mocks.core.routing import ApiRequest, ApiResponse


def etag(version: int) -> str:
    return f'"{version}"'


def entity_response(entity: Any, status: int = 200) -> ApiResponse:
    """``entity`` as the response body; with its ``ETag`` exactly when it has a ``version``."""
    version = getattr(entity, "version", None)
    return ApiResponse(status, entity.to_json(), {"etag": etag(version)} if version is not None else {})


def check_if_match(request: ApiRequest, version: int) -> None:
    """412 when the client's ``If-Match`` names a version that is no longer current.

    A missing ``If-Match`` is accepted (as most SaaS APIs do); a present one
    must match, so a client that read a stale copy cannot overwrite a newer one.
    """
    expected = request.headers.get("if-match")
    if expected is not None and expected not in ("*", etag(version)):
        raise PreconditionFailed(
            f"If-Match {expected} does not match the current version {etag(version)}", current_version=version
        )


def listing_etag(collection: str, revision: int, query: dict[str, str]) -> str:
    """The ``ETag`` of one page of a listing narrowed to a group whose items' revision is ``revision``.

    A function of the revision and of every query parameter (filters, ``limit``, ``cursor``): the same tag means
    the same page, byte for byte, and any change to an item of the group (a new item, a changed field) changes it.
    Opaque to clients.
    """
    canonical = json.dumps([collection, revision, sorted(query.items())])
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def none_match(request: ApiRequest, tag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``tag`` (or is ``*``): then a read answers 304 Not Modified.

    Compared weakly, as RFC 9110 has it for ``If-None-Match``: ``W/"x"`` matches ``"x"``.
    """
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == tag for candidate in header.split(","))


def not_modified(tag: str) -> ApiResponse:
    """304 Not Modified: no body, the ``ETag`` the client already holds."""
    return ApiResponse(304, None, {"etag": tag})
