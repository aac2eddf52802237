"""Syncs customers in a nightly batch: every account change waits for the 02:00 job.

The real-world bug: customer master data was moved out of the event
handlers into the nightly batch that already exported the day's deals
("finance only needs customers for invoices, and invoices run monthly").
A contract still creates its customer at once when it needs one, so
nothing ever fails; but a new account appears in the ERP only the next
night, and a new address or tax id stays wrong in the ERP until then,
on every invoice or credit note issued that day. By the end of any run
the ERP holds exactly what the CRM says.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from reference_impl.api import ApiError
from reference_impl.connector import ReferenceConnector
from reference_impl.master_data import Customers
from tests.broken_connectors._hooks import require_handlers, require_hooks

BATCH_HOUR = 2  # UTC
CHECK_S = 3600
CUSTOMER_EVENTS = ("crm.account.created", "crm.account.updated")


class SyncsCustomersNightlyConnector(ReferenceConnector):
    name = "broken: syncs customers in a nightly batch"

    def __init__(self, runtime: Any) -> None:
        require_hooks(Customers, "update")
        super().__init__(runtime)
        require_handlers(self.handlers, *CUSTOMER_EVENTS)
        for event_type in CUSTOMER_EVENTS:
            self.handlers[event_type] = self.queue_for_tonight  # DEFECT: account changes wait for the night
        runtime.scheduler.every(CHECK_S, self.nightly_batch)

    def queue_for_tonight(self, account_id: str) -> None:
        self.storage[f"nightly_customer:{account_id}"] = True

    def nightly_batch(self) -> None:
        now = dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC)
        night = now.strftime("%Y-%m-%d")
        if now.hour < BATCH_HOUR or self.storage.get("nightly_batch_ran") == night:
            return
        for key, _ in list(self.storage.scan("nightly_customer:")):
            try:
                self.customers.update(key.split(":", 1)[1])  # creates the customer, or brings it up to date
            except (ApiError, httpx.TransportError):
                continue  # stays queued for the next night
            del self.storage[key]
        self.storage["nightly_batch_ran"] = night


def build(runtime: Any) -> SyncsCustomersNightlyConnector:
    return SyncsCustomersNightlyConnector(runtime)
