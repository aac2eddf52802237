"""A connector that acknowledges every webhook and does nothing: no requirement may pass for want of trying."""

from typing import Any


class DoesNothing:
    subscriptions = frozenset()

    def receive(self, delivery: Any) -> int:
        return 200

    def close(self) -> None:
        return None


def build(runtime: Any) -> DoesNothing:
    return DoesNothing()
