"""Signed CloudEvents webhooks (Standard Webhooks signing).

Each change-feed event becomes one :class:`Delivery`: a CloudEvents 1.0 JSON
envelope carrying the entity id and version (a "thin" event: the receiver
fetches the entity), signed with HMAC-SHA256 as the Standard Webhooks spec
prescribes, so an off-the-shelf verifier accepts it. The ``webhook-id`` is
the event id and stays the same on every redelivery, which is what lets a
receiver deduplicate. Deliveries queue in an :class:`Outbox`; the harness
drains it at-least-once (simulated time) or over HTTP (real time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mocks.core import json_codec
from mocks.core.feed import ChangeEvent


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def make_secret(seed_material: str) -> str:
    """A deterministic ``whsec_`` secret derived from a seed string."""
    return "whsec_" + base64.b64encode(hashlib.sha256(seed_material.encode()).digest()).decode()


@dataclass(frozen=True, slots=True)
class Delivery:
    system: str
    event: ChangeEvent
    headers: dict[str, str]
    body: bytes


# What cloud_event renders, as the OpenAPI documents' webhooks show it.
CLOUD_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A thin CloudEvents 1.0 envelope: read the entity's current state from the system.",
    "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"],
    "additionalProperties": False,
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "description": "the event id: the same on every retry and redelivery"},
        "source": {"type": "string", "description": "/c2c/{system}"},
        "type": {"type": "string"},
        "subject": {"type": "string", "description": "the entity's id"},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "data": {
            "type": "object", "required": ["id", "version", "cursor"], "additionalProperties": False,
            "properties": {"id": {"type": "string"}, "version": {"type": "integer"},
                           "cursor": {"type": "string", "description": "the event's change-feed cursor"}},
        },
    },
}

# The Standard Webhooks headers every delivery carries.
SIGNATURE_HEADERS = {
    "webhook-id": "the event id: deduplicate on it",
    "webhook-timestamp": "Unix seconds, fresh on every attempt; refuse one more than 5 minutes off",
    "webhook-signature": "`v1,` + base64 of HMAC-SHA256(secret, `{webhook-id}.{webhook-timestamp}.{body}`)",
}


def cloud_event(event: ChangeEvent) -> dict:
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": f"/c2c/{event.system}",
        "type": event.type,
        "subject": event.entity_id,
        "time": event.time,
        "datacontenttype": "application/json",
        "data": {"id": event.entity_id, "version": event.version, "cursor": str(event.cursor)},
    }


class Outbox:
    """Queues every event of one feed for delivery and signs it when it is sent.

    Signing happens at send time (:meth:`sign`), not at enqueue time, so a
    delivery that waited in a queue or is retried carries a fresh
    ``webhook-timestamp``, as real senders do.
    """

    def __init__(self, system: str, secret: str, timestamp: Callable[[], int]) -> None:
        self.system = system
        self.secret = secret
        self.timestamp = timestamp  # () -> int unix seconds, simulated or real (served mode: wall)
        self.pending: deque[ChangeEvent] = deque()
        self._wake: list[Callable[[], None]] = []

    def on_delivery(self, wake: Callable[[], None]) -> None:
        """Call ``wake()`` whenever an event is queued (a courier waiting for work)."""
        self._wake.append(wake)

    def __call__(self, event: ChangeEvent) -> None:
        self.pending.append(event)
        for wake in self._wake:
            wake()

    def sign(self, event: ChangeEvent) -> Delivery:
        body = json_codec.dumps(cloud_event(event))
        ts = self.timestamp()
        headers = {
            "content-type": "application/cloudevents+json",
            "webhook-id": event.id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(self.secret, event.id, ts, body),
        }
        return Delivery(self.system, event, headers, body)
