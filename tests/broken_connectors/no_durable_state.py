"""No durable state: the connector keeps its ledger, inbox and cursors in process memory.

The real-world bug: the connector was containerised and its state
directory was never mounted as a volume, so every restart begins with an
empty database. On a good day nobody notices. After a crash the new
process knows no cursors (it rereads every feed from the start), no inbox
(it redoes all that work) and no ledger (it charges every item as if for
the first time); the ERP's idempotency keys catch the repeats only while
they are retained, so work older than a day is billed again.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from simulator.storage import MemoryStorage


class EphemeralRuntime:
    """The runtime as the container sees it: everything but the state directory."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self.storage = MemoryStorage()  # DEFECT: lives and dies with the process

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)


def build(runtime: Any) -> ReferenceConnector:
    return ReferenceConnector(EphemeralRuntime(runtime))
