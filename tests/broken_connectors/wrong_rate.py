"""Wrong rate: effective-dated rate increases are never billed.

The real-world bug: the connector maps each CLM contract into its own
``role -> rate`` lookup (the shape of an ERP item master that holds one price
per item) and builds it with ``dict.setdefault``. The CLM lists each role's
rate card entries oldest first, so the first entry wins and the effective
dates are thrown away: every line is rated at the rate in force when the
contract *started*, not on the line's work date. Nothing fails and nothing
is logged; after a mid-term rate increase every line is under-billed.

Everything else (keys, lineage, invoicing) is the reference connector's.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector

ANY_DATE = "0001-01-01"  # a flat rate applies on every work date


def flatten_rate_card(rate_card: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The connector's contract mapper: one rate per role."""
    rates: dict[str, int] = {}
    for entry in rate_card:
        rates.setdefault(entry["role"], entry["rate"])  # DEFECT: first entry wins, effective dates dropped
    return [{"role": role, "rate": rate, "effective_from": ANY_DATE} for role, rate in rates.items()]


class _FlatRateCardClm:
    """The CLM client as this connector's billing code sees it: contracts come back with flat rate cards."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        body = self._inner.call(method, path, **kwargs)
        if method == "GET" and path.startswith("/contracts/") and isinstance(body, dict) and "rate_card" in body:
            body = {**body, "rate_card": flatten_rate_card(body["rate_card"])}
        return body


class WrongRateConnector(ReferenceConnector):
    name = "broken: rates by contract start, not work date"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.clients["clm"] = _FlatRateCardClm(self.clients["clm"])


def build(runtime: Any) -> WrongRateConnector:
    return WrongRateConnector(runtime)
