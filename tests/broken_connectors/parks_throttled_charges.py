"""Parks throttled charges: a 429 while posting charges puts the work off until the next sync cycle, 4 hours on.

The real-world bug: the team read a 429 as "the ERP is overloaded, stop
hammering it" and, instead of waiting the few seconds the ``Retry-After``
asks for, parks a throttled charge post until the next sync cycle, the
change-feed poll four hours later, which "re-drives everything anyway".
Nothing is lost and the ERP ends right. On a quiet day the ERP never
throttles charge posts, so nothing shows; while a large firm's managers
approve the week's timesheets, every approval whose charge meets a 429
reaches the ERP hours late instead of seconds.
"""

from __future__ import annotations

from typing import Any

from reference_impl.api import ApiError
from reference_impl.billing import ChargeWriter
from reference_impl.cadence import PRODUCTION
from reference_impl.connector import ReferenceConnector
from tests.broken_connectors._hooks import require_hooks


class ParkingWriter(ChargeWriter):
    def settle(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().settle(*args, **kwargs)
        except ApiError as exc:
            if exc.status == 429:
                exc.retry_after = PRODUCTION.feed_poll_s  # DEFECT: the next sync cycle, not the Retry-After
            raise


class ParksThrottledChargesConnector(ReferenceConnector):
    name = "broken: puts throttled charge posts off until the next feed poll"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_writer")
        require_hooks(ChargeWriter, "settle")
        super().__init__(runtime)

    def build_writer(self) -> ChargeWriter:
        return ParkingWriter(self.clients["erp"], self.ledger)


def build(runtime: Any) -> ParksThrottledChargesConnector:
    return ParksThrottledChargesConnector(runtime)
