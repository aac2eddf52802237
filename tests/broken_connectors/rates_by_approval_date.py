"""Rates by approval date: labour is priced at the rate in force when the timesheet was approved.

The real-world bug: the ERP prices every transaction on its posting date,
and the developer who wired timesheets into it treated the approval as the
transaction ("the line becomes billable when it is approved") and passed
the approval timestamp, not the line's work date, to the rate lookup. A week
worked just before an effective-dated rate increase and approved just after
it is billed at the new rate (over-billing); the reverse happens around a
decrease. Nothing fails: every line has a valid rate, the lineage is right,
and only lines whose approval crosses a rate change are wrong, which is why
it survives a demo and most months of production.

The connector learns each approval's date from the timesheets it reads
anyway (through a thin wrapper around its PSA client) and keeps it in
durable storage, so re-pricing after an amendment repeats the same mistake.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from reference_impl.billing import Target
from reference_impl.connector import ReferenceConnector
from reference_impl.rating import price, rate_for
from reference_impl.valuation import Valuation
from tests.broken_connectors._hooks import require_hooks

APPROVED_ON = "approved_on:"  # storage prefix: approval id -> date of the approval (YYYY-MM-DD)


class _ApprovalDates:
    """The PSA client, remembering the date of every timesheet approval it reads."""

    def __init__(self, inner: Any, storage: Any) -> None:
        self._inner = inner
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        body = self._inner.call(method, path, **kwargs)
        if method == "GET" and path.startswith("/timesheets/") and isinstance(body, dict) and body.get("approval_id"):
            self._storage[APPROVED_ON + body["approval_id"]] = body["approved_at"][:10]
        return body


class PostingDateValuation(Valuation):
    """Labour valued at the rate in force on the approval's date, as remembered by :class:`_ApprovalDates`."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def line_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        target = super().line_target(contract, f)
        if target.amount == 0:
            return target
        posting_date = self.storage.get(APPROVED_ON + str(f["approval_id"]))
        if posting_date is None:
            raise RuntimeError(f"no approval date known for {f['approval_id']} (line {f['line_id']})")
        rate = rate_for(contract["rate_card"], f["role"], posting_date)  # DEFECT: should be f["date"], the work date
        return dataclasses.replace(target, amount=price(Decimal(f["hours"]), rate), unit_price=rate)


class RatesByApprovalDateConnector(ReferenceConnector):
    name = "broken: labour rated on the approval date"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_valuation")
        require_hooks(Valuation, "line_target")
        super().__init__(runtime)
        self.clients["psa"] = _ApprovalDates(self.clients["psa"], self.storage)

    def build_valuation(self) -> Valuation:
        return PostingDateValuation(self.storage)


def build(runtime: Any) -> RatesByApprovalDateConnector:
    return RatesByApprovalDateConnector(runtime)
