"""``Idempotency-Key`` with Stripe's semantics, answered as the IETF Idempotency-Key draft says.

- A key belongs to the client that sent it. Two requests with the same key
  are the same request when they have the same method, path and payload;
  the payload is compared as canonical JSON (parsed, then re-encoded with
  sorted keys and no whitespace), so the order of an object's members and
  the spacing do not matter. A body that is not JSON is compared byte for
  byte. (Two payloads with the same bytes are the same payload: only
  payloads whose bytes differ are made canonical to be compared.)
- The first response to a key is stored and replayed, byte for byte, for a
  later request with the same key and the same payload (marked with
  ``Idempotent-Replayed: true``). The body is encoded and the headers copied
  when the response is stored, so later changes to the entity it showed
  (a dispute on a posted invoice, say) never leak into a replay.
- The same key with a different payload (or on another endpoint) is a 422
  ``idempotency_error``: silently returning the old result would hide a
  client bug.
- The same key arriving while the first request with it is still being
  processed is a 409 ``idempotency_in_progress`` (a different payload is
  still the 422): the client retries once the first has finished, and the
  endpoint never runs twice at once for one key.
- Results are stored only once the endpoint ran: a request rejected by
  validation (400/422) or failing with 5xx stores nothing, so the client may
  fix it and retry with the same key.
- Keys expire after ``retention_s`` seconds of the system's clock, and an
  expired key is forgotten at the next request with any key: the store
  holds what the last ``retention_s`` seconds stored, not every request of
  a run (a year-long run would otherwise keep every response it ever gave).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from mocks.core.problems import IdempotencyError, Problem
from mocks.core.routing import ApiRequest, ApiResponse

DEFAULT_RETENTION_S = 24 * 3600


class IdempotencyKeyReused(IdempotencyError):
    """The key was first used for a different request: 422, as the IETF Idempotency-Key draft prescribes."""

    status = 422


class IdempotencyKeyInFlight(Problem):
    """The first request with this key is still being processed: 409, as the IETF Idempotency-Key draft prescribes."""

    status = 409
    kind = "idempotency_in_progress"
    title = "A request with this Idempotency-Key is still being processed"


def canonical_payload(body: bytes) -> bytes:
    """The payload as compared: canonical JSON (sorted keys, no whitespace), or the raw bytes if it is not JSON."""
    try:
        value = json.loads(body)
        return b"json:" + json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        return b"raw:" + body


@dataclass(frozen=True, slots=True)
class _Signature:
    """What tells two requests under one key apart: method, path and payload (see the module's docstring)."""

    method: str
    path: str
    body: bytes

    def same_as(self, other: _Signature) -> bool:
        return self.method == other.method and self.path == other.path and (
            self.body == other.body or canonical_payload(self.body) == canonical_payload(other.body))


@dataclass(frozen=True, slots=True)
class _Stored:
    signature: _Signature
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes  # the encoded body, exactly as first sent
    stored_at: float


class IdempotencyStore:
    def __init__(self, now: Callable[[], float], retention_s: float = DEFAULT_RETENTION_S) -> None:
        self.now = now
        self.retention_s = retention_s
        self._entries: dict[str, _Stored] = {}
        self._stored: deque[tuple[str, _Stored]] = deque()  # (scoped key, entry), oldest first: what expires next
        self._in_flight: dict[str, _Signature] = {}  # scoped key -> the request being processed
        self._lock = threading.Lock()  # makes look-up and claim of a key one step, should requests ever run in threads

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _reused(key: str) -> IdempotencyKeyReused:
        return IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was first used for a different request (method, path or payload); "
            "use a new key for a new request", idempotency_key=key)

    def handle(self, request: ApiRequest, key: str, run: Callable[[ApiRequest], ApiResponse]) -> ApiResponse:
        scoped = f"{request.client_id}:{key}"
        now = self.now()
        signature = _Signature(request.method, request.path, request.body)
        with self._lock:
            stored = self._claim(scoped, key, signature, now)
        if stored is not None:
            return ApiResponse(stored.status, headers={**dict(stored.headers), "idempotent-replayed": "true"},
                               content=stored.content)
        try:
            response = run(request)
        finally:
            del self._in_flight[scoped]
        if response.status < 500 and response.status not in (400, 401, 422, 429):
            response = response.frozen()  # the first answer is sent from the very bytes that are stored
            entry = _Stored(signature, response.status, tuple(response.headers.items()), response.encode(), now)
            self._entries[scoped] = entry
            self._stored.append((scoped, entry))
        return response

    def _forget_expired(self, now: float) -> None:
        """Drop the entries older than the retention, oldest first (a key stored again since keeps its new entry)."""
        stored, entries = self._stored, self._entries
        while stored and now - stored[0][1].stored_at > self.retention_s:
            scoped, entry = stored.popleft()
            if entries.get(scoped) is entry:
                del entries[scoped]

    def _claim(self, scoped: str, key: str, signature: _Signature, now: float) -> _Stored | None:
        """The stored answer to replay; or, if there is none, the key claimed for this request (until it ends).

        A different request under the key (stored or running) is a 422; the same one still running, a 409.
        """
        self._forget_expired(now)
        stored = self._entries.get(scoped)
        if stored is not None and now - stored.stored_at > self.retention_s:
            del self._entries[scoped]  # stored out of order (by a request that started earlier): expired all the same
            stored = None
        if stored is not None:
            if not stored.signature.same_as(signature):
                raise self._reused(key)
            return stored
        running = self._in_flight.get(scoped)
        if running is not None:
            if not running.same_as(signature):
                raise self._reused(key)
            raise IdempotencyKeyInFlight(f"the first request with Idempotency-Key {key!r} is still being processed; "
                                         "retry once it has finished", idempotency_key=key)
        self._in_flight[scoped] = signature
        return None
