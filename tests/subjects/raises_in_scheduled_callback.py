"""The reference connector with a housekeeping job that raises every hour it runs.

Its webhooks are handled as usual; only the scheduled callback fails. The
harness must count each failure as the connector's, keep the first
traceback, and run on.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector


class BrokenHousekeeping(ReferenceConnector):
    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        runtime.scheduler.every(3600, self.housekeeping)

    def housekeeping(self) -> None:
        raise ZeroDivisionError("division by zero in a metrics rollup")  # BUG


def build(runtime: Any) -> BrokenHousekeeping:
    return BrokenHousekeeping(runtime)
