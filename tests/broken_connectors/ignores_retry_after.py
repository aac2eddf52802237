"""Ignores Retry-After: a 429 is retried at once, in a tight loop, instead of after the time the ERP asked for.

The real-world bug: the connector's HTTP session is configured with a retry
policy that treats 429 like any other transient status and retries it
immediately, up to three times (urllib3's ``Retry(status_forcelist=[429,
...], respect_retry_after_header=False)`` is the classic way to get this).
Against a rate-limited ERP this hammers the API exactly when it asked for
quiet: every retry arrives before the ``Retry-After`` it was given, burns
the client's quota and prolongs the throttling for every integration
sharing the tenant. The money may still come out right; the ERP's
operators will still cut the integration off.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector

IMMEDIATE_RETRIES = 3


class ImpatientSession:
    """The HTTP session under the ERP client, with the defective retry policy."""

    def __init__(self, http: Any) -> None:
        self._http = http

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._http.request(method, url, **kwargs)
        for _ in range(IMMEDIATE_RETRIES):  # DEFECT: no wait, whatever Retry-After says
            if response.status_code != 429:
                break
            response = self._http.request(method, url, **kwargs)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


class ImpatientConnector(ReferenceConnector):
    name = "broken: retries 429 immediately"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        erp = self.clients["erp"]
        if not hasattr(erp, "http"):
            raise RuntimeError("the ERP client no longer sends through .http: re-plant this mutant")
        erp.http = ImpatientSession(erp.http)


def build(runtime: Any) -> ImpatientConnector:
    return ImpatientConnector(runtime)
