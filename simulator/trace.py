"""The event trace: every API call, webhook delivery and business event.

Records are appended in simulated-time order (SimPy time never goes back),
with a sequence number, so the trace is deterministic for a seed. The core
only calls ``sink(record)``; writing JSON lines to a file is the CLI's job.

A business event's record is ``system``, ``type``, ``entity`` and
``version``; a few ERP events add what ties billing to contracts without
the ERP's state (:func:`trace_billing`):

- ``erp.invoice.created`` and ``erp.credit_note.created``: ``contracts``,
  the contract ids its lines bill (each distinct ``contract_id`` of its
  charges' lineage, sorted; usually one). The document's later events
  (posted, disputed) name it by its id.
- ``erp.payment.received``: ``invoice``, the id of the invoice it is
  recorded against.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from mocks.core.clock import Clock
from mocks.core.feed import ChangeEvent

if TYPE_CHECKING:
    from mocks.erp.models import ErpBackend

Sink = Callable[[dict[str, Any]], None]
Details = Callable[[str], dict[str, Any]]  # an event's entity id -> the fields its trace record adds


def null_sink(record: dict[str, Any]) -> None:
    return None


class Trace:
    def __init__(self, clock: Clock, sink: Sink = null_sink) -> None:
        self._clock = clock
        self._sink = sink
        self._seq = 0
        self.counts: Counter[str] = Counter()
        self._details: dict[str, Details] = {}  # business event type -> what its records add

    def add_details(self, event_type: str, details: Details) -> None:
        """Every business event of ``event_type`` is recorded with ``details(entity id)``'s fields too, after
        ``version`` (called as the event is published, so the entity is as that event left it)."""
        self._details[event_type] = details

    def record(self, kind: str, **fields: Any) -> None:
        self._seq += 1
        self.counts[kind] += 1
        self._sink({"seq": self._seq, "t": round(self._clock.now(), 3), "kind": kind, **fields})

    def business_event(self, event: ChangeEvent) -> None:
        """``record("event", system=..., type=..., entity=..., version=...)``, built directly: most records are these;
        plus the fields :meth:`add_details` names for its type."""
        self._seq += 1
        self.counts["event"] += 1
        record = {"seq": self._seq, "t": round(self._clock.now(), 3), "kind": "event", "system": event.system,
                  "type": event.type, "entity": event.entity_id, "version": event.version}
        details = self._details.get(event.type)
        if details is not None:
            record.update(details(event.entity_id))
        self._sink(record)


def trace_billing(trace: Trace, erp: ErpBackend) -> None:
    """Have ``trace`` say which contracts each invoice or credit note bills and which invoice each payment is
    for (see the module's docstring): contract ids, not charges, so the trace of a large run stays small."""
    def billed(document_id: str) -> dict[str, Any]:
        return {"contracts": erp.invoices[document_id].contracts()}

    def settles(payment_id: str) -> dict[str, Any]:
        return {"invoice": erp.payments[payment_id].invoice_id}

    trace.add_details("erp.invoice.created", billed)
    trace.add_details("erp.credit_note.created", billed)
    trace.add_details("erp.payment.received", settles)


class TraceLogHandler(logging.Handler):
    """Routes a connector's log records into the trace, so they replay with the run."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(logging.INFO)
        self.trace = trace

    def emit(self, record: logging.LogRecord) -> None:
        self.trace.record("connector_log", level=record.levelname.lower(), message=record.getMessage()[:300])


class TracingTransport(httpx.BaseTransport):
    """Counts and traces every call the connector makes, per system."""

    def __init__(self, inner: httpx.BaseTransport, trace: Trace, system_of_host: dict[str, str]) -> None:
        self.inner = inner
        self.trace = trace
        self.system_of_host = system_of_host
        self.calls: Counter[tuple[str, int]] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        system = self.system_of_host.get(request.url.host, request.url.host)
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError as exc:  # what the connector saw: no status at all
            self.record(system, request.method, request.url.path, 0, type(exc).__name__)
            raise
        self.record(system, request.method, request.url.path, response.status_code)
        return response

    def record(self, system: str, method: str, path: str, status: int, error: str | None = None) -> None:
        """Count and trace one call (status 0: no answer reached the connector; ``error`` says what it saw).

        A connector reached over real HTTP is recorded here too, by the served app.
        """
        self.calls[(system, status)] += 1
        if error is None:
            self.trace.record("api", system=system, method=method, path=path, status=status)
        else:
            self.trace.record("api", system=system, method=method, path=path, status=status, error=error)
