"""The event trace: every API call, webhook delivery and business event.

Records are appended in simulated-time order (SimPy time never goes back),
with a sequence number, so the trace is deterministic for a seed. The core
only calls ``sink(record)``; writing JSON lines to a file is the CLI's job.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from mocks.core.clock import Clock
from mocks.core.feed import ChangeEvent

Sink = Callable[[dict[str, Any]], None]


def null_sink(record: dict[str, Any]) -> None:
    return None


class Trace:
    def __init__(self, clock: Clock, sink: Sink = null_sink) -> None:
        self._clock = clock
        self._sink = sink
        self._seq = 0
        self.counts: Counter[str] = Counter()

    def record(self, kind: str, **fields: Any) -> None:
        self._seq += 1
        self.counts[kind] += 1
        self._sink({"seq": self._seq, "t": round(self._clock.now(), 3), "kind": kind, **fields})

    def business_event(self, event: ChangeEvent) -> None:
        """``record("event", system=..., type=..., entity=..., version=...)``, built directly: most records are these."""
        self._seq += 1
        self.counts["event"] += 1
        self._sink({"seq": self._seq, "t": round(self._clock.now(), 3), "kind": "event", "system": event.system,
                    "type": event.type, "entity": event.entity_id, "version": event.version})


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
