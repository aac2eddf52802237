"""RFC 9457 problem details: the only way a mock reports an error.

Every rule violation raises a :class:`Problem`; the dispatcher turns it into
an ``application/problem+json`` response. A handler never returns a bare 500
for bad input, so a caller can always tell what it did wrong.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://c2c.dev/problems/"


class Problem(Exception):
    """An error a client caused or must handle; carries its HTTP status."""

    status = 400
    kind = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        body = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class BadRequest(Problem):
    pass


class ValidationFailed(Problem):
    status = 422
    kind = "validation_error"
    title = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class Unauthorized(Problem):
    status = 401
    kind = "unauthorized"
    title = "Unauthorized"


class NotFound(Problem):
    status = 404
    kind = "not_found"
    title = "Not found"


class MethodNotAllowed(Problem):
    status = 405
    kind = "method_not_allowed"
    title = "Method not allowed"


class Conflict(Problem):
    status = 409
    kind = "conflict"
    title = "Conflict"


class Gone(Problem):
    status = 410
    kind = "cursor_expired"
    title = "Cursor expired"


class PreconditionFailed(Problem):
    status = 412
    kind = "precondition_failed"
    title = "Precondition failed"


class IdempotencyError(Problem):
    status = 400
    kind = "idempotency_error"
    title = "Idempotency key reused with a different request"
