"""Change-feed cursors: GET /events?after=&limit= (mocks/core/feed.py)."""

from __future__ import annotations

import httpx
import pytest

from mocks import crm
from mocks.core.transport import InProcessTransport
from tests.mocks.factories import assert_problem, create, crm_account


def events(api, after: str | None = None, limit: int | None = None, system: str = "crm"):
    params = {}
    if after is not None:
        params["after"] = after
    if limit is not None:
        params["limit"] = limit
    return api(system, "GET", "/events", params=params)


def read(api, after: str | None = None, limit: int | None = None) -> dict:
    response = events(api, after, limit)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def seven_changes(api) -> list[str]:
    ids = [create(api, "crm", "/accounts", crm_account(f"A{i}"))["id"] for i in range(5)]
    for account_id in ids[:2]:
        assert api("crm", "PATCH", f"/accounts/{account_id}", json={"legal_name": "renamed"}).status_code == 200
    return ids


def test_events_carry_monotonic_cursors_and_entity_versions(api, seven_changes):
    body = read(api)
    cursors = [int(e["cursor"]) for e in body["data"]]
    assert cursors == list(range(1, 8))
    assert body["next_cursor"] == "7"
    assert len({e["id"] for e in body["data"]}) == 7
    assert [e["type"] for e in body["data"]] == ["crm.account.created"] * 5 + ["crm.account.updated"] * 2
    assert [(e["entity_id"], e["version"]) for e in body["data"][5:]] == [(seven_changes[0], 2), (seven_changes[1], 2)]


def test_resuming_from_next_cursor_misses_nothing(api, seven_changes):
    seen, cursor = [], None
    while True:
        body = read(api, cursor, limit=3)
        if not body["data"]:
            break
        seen += body["data"]
        assert body["next_cursor"] == body["data"][-1]["cursor"]
        cursor = body["next_cursor"]
    assert [int(e["cursor"]) for e in seen] == list(range(1, 8))
    assert seen == read(api)["data"]


def test_resuming_sees_events_appended_after_the_last_read(api, seven_changes):
    head = read(api)["next_cursor"]
    new_id = create(api, "crm", "/accounts", crm_account("Late"))["id"]
    body = read(api, head)
    assert [(e["cursor"], e["entity_id"]) for e in body["data"]] == [("8", new_id)]


def test_after_head_is_empty_with_the_same_cursor(api, seven_changes):
    body = read(api, "7")
    assert body == {"data": [], "next_cursor": "7"}


def test_empty_feed_reads_empty_from_zero(api):
    assert read(api) == {"data": [], "next_cursor": "0"}
    assert read(api, "0") == {"data": [], "next_cursor": "0"}


@pytest.mark.parametrize("after", ["8", "1000", "-1", "abc", "1.5"])
def test_cursor_beyond_head_negative_or_not_an_integer_is_400(api, seven_changes, after):
    body = assert_problem(events(api, after), 400, "bad_request")
    assert after in body["detail"]


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_limit_out_of_range_is_400(api, seven_changes, limit):
    assert_problem(events(api, limit=limit), 400)


def test_cursors_are_per_system(api, seven_changes):
    assert read(api)["next_cursor"] == "7"
    assert api("psa", "GET", "/events").json() == {"data": [], "next_cursor": "0"}
    assert_problem(api("psa", "GET", "/events", params={"after": "3"}), 400)


@pytest.fixture
def retained(clock):
    """A CRM that keeps only the last 5 events, behind its own client."""
    backend = crm.CrmBackend(clock, feed_retention=5)
    service = crm.build_service(backend, {"id": "secret"})
    http = httpx.Client(transport=InProcessTransport({"crm.test": service}), base_url="http://crm.test")
    token = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "id",
                                            "client_secret": "secret"}).json()["access_token"]
    http.headers["authorization"] = f"Bearer {token}"
    for i in range(8):
        assert http.post("/accounts", json=crm_account(f"R{i}")).status_code == 201
    return http


def test_retention_keeps_the_newest_events(retained):
    body = retained.get("/events", params={"after": "3"}).json()
    assert [e["cursor"] for e in body["data"]] == ["4", "5", "6", "7", "8"]


def test_expired_cursor_is_410_cursor_expired(retained):
    response = retained.get("/events", params={"after": "2"})
    body = assert_problem(response, 410, "cursor_expired")
    assert body["oldest_cursor"] == "4"
    assert "2" in body["detail"]


def test_reading_from_the_start_after_retention_dropped_events_is_410(retained):
    assert_problem(retained.get("/events"), 410, "cursor_expired")


def test_retention_is_by_count_so_a_cursor_expires_when_more_events_arrive(retained):
    assert retained.get("/events", params={"after": "3"}).status_code == 200
    assert retained.post("/accounts", json=crm_account("R8")).status_code == 201
    assert_problem(retained.get("/events", params={"after": "3"}), 410, "cursor_expired")
    assert [e["cursor"] for e in retained.get("/events", params={"after": "4"}).json()["data"]] == ["5", "6", "7", "8", "9"]
