"""Durable id mappings: what the connector remembers about each source record.

Each mapping is one key of the runtime's durable storage, ``KIND:SOURCE_ID``
(``customer:ACCOUNT`` is the ERP customer's id, ``billing_project:CONTRACT``
its billing project's, ``feed_cursor:SYSTEM`` the last cursor read...).

Guarantees: what is remembered survives a crash and is what any later
instance of the connector recalls; a value is JSON, read back as a fresh
copy. A mapping says a target exists only because its callers remember a
target id after the target system confirmed it, never before: a crash in
between leaves the source unmapped, and the next attempt finds the target
again by its idempotency key or a lookup instead of creating a second one.
"""

from __future__ import annotations

from typing import Any


class Mappings:
    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def remember(self, kind: str, source_id: str, target: Any) -> None:
        self.storage[f"{kind}:{source_id}"] = target

    def recall(self, kind: str, source_id: str) -> Any:
        """What was remembered for ``source_id`` under ``kind``, or None."""
        return self.storage.get(f"{kind}:{source_id}")

    def sources(self, kind: str) -> list[str]:
        """Every source id with a ``kind`` mapping, in key order."""
        return [key.split(":", 1)[1] for key, _ in self.storage.scan(f"{kind}:")]
