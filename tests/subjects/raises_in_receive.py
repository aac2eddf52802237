"""A connector whose ``receive`` raises on every webhook (a settings lookup that was never configured).

The harness must report it as the connector's error, counted, with the
first traceback, and answer the sender 500; never as a harness failure.
"""

from __future__ import annotations

from typing import Any

SETTINGS: dict[str, str] = {}


class RaisesInReceive:
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def receive(self, delivery: Any) -> int:
        tenant = SETTINGS["tenant"]  # BUG: KeyError, every time
        return 200 if tenant else 500

    def close(self) -> None:
        return None


def build(runtime: Any) -> RaisesInReceive:
    return RaisesInReceive(runtime)
