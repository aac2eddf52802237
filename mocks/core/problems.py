"""RFC 9457 problem details: the only way a mock reports an error.

Every rule violation raises a :class:`Problem`; the dispatcher turns it into
an ``application/problem+json`` response. A handler never returns a bare 500
for bad input, so a caller can always tell what it did wrong.

Guarantees: the standard members (``type``, ``title``, ``status``,
``detail``, ``instance``) always mean what RFC 9457 says; an extension
member can never overwrite one of them (``status`` is always the HTTP
status code, so an entity's own status travels as ``current_status``).
Headers a status code requires (``Allow`` on 405, ``WWW-Authenticate`` on
401) travel with the problem in :attr:`Problem.headers`.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://c2c.dev/problems/"

# RFC 9457 §3.1: the members every problem may carry, with their fixed meaning.
STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class Problem(Exception):
    """An error a client caused or must handle; carries its HTTP status and response headers."""

    status = 400
    kind = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        shadowing = sorted(STANDARD_MEMBERS.intersection(extra))
        if shadowing:
            # a programming error, not a client's: fail where the problem is built
            raise TypeError(f"extension member(s) {', '.join(shadowing)} would overwrite RFC 9457 members")
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = dict(headers or {})  # lower-case names

    def to_json(self) -> dict[str, Any]:
        body = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        for name, value in self.extra.items():
            body.setdefault(name, value)  # never replaces a standard member
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
    """401 with the ``WWW-Authenticate`` challenge RFC 9110 §11.6.1 requires (RFC 6750 ``Bearer``)."""

    status = 401
    kind = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str, *, challenge: str = "Bearer", **extra: Any) -> None:
        super().__init__(detail, headers={"www-authenticate": challenge}, **extra)


class NotFound(Problem):
    status = 404
    kind = "not_found"
    title = "Not found"


class EntityNotFound(NotFound):
    """``<kind> <id> does not exist``: what :meth:`mocks.core.backend.Backend.get` raises for an unknown id."""

    def __init__(self, kind: str, entity_id: str) -> None:
        super().__init__(f"{kind} {entity_id} does not exist", entity_id=entity_id)


class MethodNotAllowed(Problem):
    """405 with the ``Allow`` header RFC 9110 §15.5.6 requires, listing the methods the resource has."""

    status = 405
    kind = "method_not_allowed"
    title = "Method not allowed"

    def __init__(self, detail: str, allowed: list[str], **extra: Any) -> None:
        super().__init__(detail, headers={"allow": ", ".join(sorted(allowed))}, **extra)


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


class PayloadTooLarge(Problem):
    status = 413
    kind = "payload_too_large"
    title = "Payload too large"


class InternalError(Problem):
    """A bug in the mock itself, never the client's fault: still a problem document, never a bare traceback."""

    status = 500
    kind = "internal_error"
    title = "Internal server error"


class IdempotencyError(Problem):
    status = 400
    kind = "idempotency_error"
    title = "Idempotency key reused with a different request"


class ServiceClosed(Problem):
    """503: the served run is over; the systems are kept as they ended, for the verdict."""

    status = 503
    kind = "closed"
    title = "Service closed"
