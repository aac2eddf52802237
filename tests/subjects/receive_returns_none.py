"""A connector whose ``receive`` forgets its ``return``: it handles each webhook, then answers None, not a status.

The harness must count that as the connector's error (the sender sees a 500
and retries), never crash on it.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector


class ForgetsToReturn(ReferenceConnector):
    def receive(self, delivery: Any) -> None:  # type: ignore[override]
        super().receive(delivery)  # BUG: the status is dropped


def build(runtime: Any) -> ForgetsToReturn:
    return ForgetsToReturn(runtime)
