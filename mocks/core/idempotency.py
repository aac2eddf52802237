"""``Idempotency-Key`` with Stripe's semantics.

- The first response to a key is stored and replayed, byte for byte, for a
  later request with the same key and the same payload (marked with
  ``Idempotent-Replayed: true``). The body is encoded and the headers copied
  when the response is stored, so later changes to the entity it showed
  (a dispute on a posted invoice, say) never leak into a replay.
- The same key with a different payload is a 400 ``idempotency_error``:
  silently returning the old result would hide a client bug.
- Results are stored only once the endpoint ran: a request rejected by
  validation (400/422) or failing with 5xx stores nothing, so the client may
  fix it and retry with the same key.
- Keys expire after ``retention_s`` seconds of the system's clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from mocks.core.problems import IdempotencyError
from mocks.core.routing import ApiRequest, ApiResponse

DEFAULT_RETENTION_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class _Stored:
    fingerprint: str
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes  # the encoded body, exactly as first sent
    stored_at: float


class IdempotencyStore:
    def __init__(self, now: Callable[[], float], retention_s: float = DEFAULT_RETENTION_S) -> None:
        self._now = now
        self.retention_s = retention_s
        self._entries: dict[str, _Stored] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _fingerprint(request: ApiRequest) -> str:
        return hashlib.sha256(request.method.encode() + request.path.encode() + b"\0" + request.body).hexdigest()

    def handle(self, request: ApiRequest, key: str, run: Callable[[ApiRequest], ApiResponse]) -> ApiResponse:
        scoped = f"{request.client_id}:{key}"
        now = self._now()
        fingerprint = self._fingerprint(request)
        stored = self._entries.get(scoped)
        if stored is not None and now - stored.stored_at > self.retention_s:
            del self._entries[scoped]
            stored = None
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyError(
                    f"Idempotency-Key {key!r} was first used for a different request; use a new key for a new request",
                    idempotency_key=key,
                )
            return ApiResponse(stored.status, headers={**dict(stored.headers), "idempotent-replayed": "true"},
                               content=stored.content)
        response = run(request)
        if response.status < 500 and response.status not in (400, 401, 422, 429):
            response = response.frozen()  # the first answer is sent from the very bytes that are stored
            self._entries[scoped] = _Stored(fingerprint, response.status, tuple(response.headers.items()),
                                            response.encode(), now)
        return response
