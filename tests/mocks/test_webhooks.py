"""Signed CloudEvents webhooks (mocks/core/webhooks.py): Standard Webhooks signing, CloudEvents 1.0 envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from mocks.core.feed import ChangeFeed
from mocks.core.webhooks import Outbox, cloud_event, make_secret, sign
from reference_impl.signatures import InvalidSignature, verify
from tests.mocks.factories import create, crm_account

SECRET = make_secret("unit-test")


@pytest.fixture
def feed() -> ChangeFeed:
    return ChangeFeed("psa")


def wall_clock_delivery(feed: ChangeFeed):
    """A delivery signed now (wall clock), because standardwebhooks checks its tolerance against time.time()."""
    outbox = Outbox("psa", SECRET, lambda: int(time.time()))
    feed.subscribe(outbox)
    feed.append("psa.timesheet.approved", "tms_000042", 3, "2026-01-05T12:00:00Z")
    return outbox.sign(outbox.pending.popleft())


def test_secret_is_a_whsec_base64_key():
    assert SECRET.startswith("whsec_")
    assert len(base64.b64decode(SECRET.removeprefix("whsec_"))) == 32
    assert make_secret("unit-test") == SECRET != make_secret("other")


def test_delivery_verifies_with_the_standardwebhooks_library(feed):
    delivery = wall_clock_delivery(feed)
    payload = Webhook(SECRET).verify(delivery.body, delivery.headers)
    assert payload["subject"] == "tms_000042"


def test_delivery_verifies_with_reference_impl(feed):
    delivery = wall_clock_delivery(feed)
    verify(SECRET, delivery.headers, delivery.body, now=float(delivery.headers["webhook-timestamp"]))


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_tampering_fails_both_verifiers(feed, tamper):
    delivery = wall_clock_delivery(feed)
    headers, body, secret = dict(delivery.headers), delivery.body, SECRET
    if tamper == "body":
        body = body.replace(b'"version":3', b'"version":4')
        assert body != delivery.body
    elif tamper == "id":
        headers["webhook-id"] = "evt_psa_99999999"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        secret = make_secret("someone else")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)
    with pytest.raises(InvalidSignature):
        verify(secret, headers, body, now=float(headers["webhook-timestamp"]))


def test_reference_verifier_checks_tolerance_against_the_injected_clock(feed):
    delivery = wall_clock_delivery(feed)
    sent = int(delivery.headers["webhook-timestamp"])
    verify(SECRET, delivery.headers, delivery.body, now=sent + 300)
    with pytest.raises(InvalidSignature):
        verify(SECRET, delivery.headers, delivery.body, now=sent + 301)


def test_signature_matches_the_spec_formula():
    body = b'{"a":1}'
    digest = hmac.new(base64.b64decode(SECRET[6:]), b"msg_1.1700000000." + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    assert sign(SECRET, "msg_1", 1_700_000_000, body) == "v1," + expected


def test_envelope_is_cloudevents_1_0(feed):
    delivery = wall_clock_delivery(feed)
    envelope = json.loads(delivery.body)
    assert envelope["specversion"] == "1.0"
    assert envelope["id"] == delivery.headers["webhook-id"] == delivery.event.id
    assert envelope["source"] == "/c2c/psa"
    assert envelope["type"] == "psa.timesheet.approved"
    assert envelope["subject"] == "tms_000042"
    assert envelope["time"] == "2026-01-05T12:00:00Z"
    assert envelope["datacontenttype"] == "application/json"
    assert envelope["data"]["id"] == "tms_000042"
    assert envelope["data"]["version"] == 3
    assert delivery.headers["content-type"] == "application/cloudevents+json"
    for attribute in ("id", "source", "type", "specversion"):  # required, non-empty strings
        assert isinstance(envelope[attribute], str) and envelope[attribute]


def test_redelivery_keeps_the_webhook_id_and_resigns_with_a_fresh_timestamp(clock):
    feed = ChangeFeed("erp")
    outbox = Outbox("erp", SECRET, lambda: int(clock.now()))
    feed.subscribe(outbox)
    event = feed.append("erp.invoice.posted", "inv_000001", 2, "2026-01-01T00:00:00Z")
    first = outbox.sign(event)
    clock.advance(90)
    retry = outbox.sign(event)
    assert retry.headers["webhook-id"] == first.headers["webhook-id"] == event.id
    assert int(retry.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 90
    assert retry.body == first.body
    verify(SECRET, retry.headers, retry.body, now=clock.now())


def test_outbox_queues_every_feed_event_in_order_and_wakes_couriers():
    feed, woken = ChangeFeed("crm"), []
    outbox = Outbox("crm", SECRET, lambda: 0)
    outbox.on_delivery(lambda: woken.append(len(outbox.pending)))
    feed.subscribe(outbox)
    for i in range(3):
        feed.append("crm.account.created", f"acc_{i}", 1, "2026-01-01T00:00:00Z")
    assert [e.entity_id for e in outbox.pending] == ["acc_0", "acc_1", "acc_2"]
    assert woken == [1, 2, 3]


def test_api_changes_reach_the_system_outbox_signed_with_the_shared_secret(api, systems, clock):
    account = create(api, "crm", "/accounts", crm_account())
    api("crm", "PATCH", f"/accounts/{account['id']}", json={"legal_name": "Renamed"})
    outbox = systems.outboxes["crm"]
    deliveries = [outbox.sign(e) for e in outbox.pending]
    envelopes = [json.loads(d.body) for d in deliveries]
    assert [(e["type"], e["data"]["id"], e["data"]["version"]) for e in envelopes] == [
        ("crm.account.created", account["id"], 1), ("crm.account.updated", account["id"], 2)]
    for delivery in deliveries:
        assert delivery.headers["webhook-timestamp"] == str(int(clock.now()))
        verify(systems.webhook_secret, delivery.headers, delivery.body, now=clock.now())
    feed_ids = [e["id"] for e in api("crm", "GET", "/events").json()["data"]]
    assert [e["id"] for e in envelopes] == feed_ids


def test_cloud_event_body_is_deterministic(feed):
    event = feed.append("psa.timesheet.approved", "tms_1", 1, "2026-01-01T00:00:00Z")
    assert cloud_event(event) == cloud_event(event)
    a = Outbox("psa", SECRET, lambda: 5).sign(event)
    b = Outbox("psa", SECRET, lambda: 5).sign(event)
    assert a == b
