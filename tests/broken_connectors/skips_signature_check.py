"""Skips the signature check: any well-formed webhook is accepted, whoever sent it.

The real-world bug: signature verification failed in staging (a proxy
re-encoded the body), so it was switched off "for now" behind a flag that
shipped to production enabled. Nothing breaks: the connector re-reads every
entity from its source, so a forged event moves no money by itself, and
nobody notices that anyone who can reach the endpoint can now make the
connector do work, probe which ids exist, and flood its queue.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class SkipsSignatureCheckConnector(ReferenceConnector):
    name = "broken: never verifies webhook signatures"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "verify_signature")
        super().__init__(runtime)

    def verify_signature(self, delivery: Any) -> None:
        pass  # DEFECT: "temporarily" disabled


def build(runtime: Any) -> SkipsSignatureCheckConnector:
    return SkipsSignatureCheckConnector(runtime)
