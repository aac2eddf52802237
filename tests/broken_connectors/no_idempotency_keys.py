"""No idempotency keys: ERP writes go out without ``Idempotency-Key``, so a retried write can book twice.

The real-world bug: the connector's HTTP wrapper builds its headers from a
fixed allow-list (authorization, content type, accept) that predates the
ERP's idempotency support, so the ``Idempotency-Key`` the billing code sets
never leaves the process. Everything works on a good day. When the ERP
commits a charge batch and the response is lost on the way back (a load
balancer timeout), the connector sees a timeout, retries, and the ERP,
with no key to recognise the retry by, books the batch a second time: the
customer is invoiced twice for the same hours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reference_impl.connector import ReferenceConnector


def dropping_idempotency_keys(send: Callable[..., Any]) -> Callable[..., Any]:
    """The HTTP wrapper's header allow-list: every request loses its ``Idempotency-Key``."""

    def request(method: str, path: str, **kwargs: Any) -> Any:
        headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items() if k.lower() != "idempotency-key"}
        return send(method, path, headers=headers, **kwargs)

    return request


class NoIdempotencyKeysConnector(ReferenceConnector):
    name = "broken: drops Idempotency-Key on every ERP write"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        erp = self.clients["erp"]
        if self.writer.erp is not erp:
            raise RuntimeError("the charge writer no longer posts through clients['erp']: re-plant this mutant")
        erp.request = dropping_idempotency_keys(erp.request)  # DEFECT: the allow-list drops the key


def build(runtime: Any) -> NoIdempotencyKeysConnector:
    return NoIdempotencyKeysConnector(runtime)
