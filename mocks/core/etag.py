"""Optimistic concurrency: ``ETag`` on reads, ``If-Match`` on updates."""

from __future__ import annotations

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
