"""The reference connector's API client against scripted HTTP answers (respx), one behaviour each.

The mocks always answer by the book; these scripts answer the way a real
system sometimes does: a token that expires early, a 429 with a
``Retry-After``, a 503, a response lost on the way back, a paginated list.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from reference_impl.api import ApiError, SystemClient, Throttled

BASE = "http://erp.test"
TOKEN = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 3600}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def erp() -> respx.Router:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/oauth/token").mock(return_value=httpx.Response(200, json=TOKEN))
        yield router


@pytest.fixture
def client(clock: Clock) -> SystemClient:
    return SystemClient(httpx.Client(), "erp", BASE, "c2c-connector", "secret", clock)


def test_a_token_is_fetched_once_and_refreshed_a_minute_before_it_expires(erp, client, clock) -> None:
    erp.get("/customers/c1").mock(return_value=httpx.Response(200, json={"id": "c1"}))
    client.call("GET", "/customers/c1")
    client.call("GET", "/customers/c1")
    assert erp.routes[0].call_count == 1
    clock.now += 3600 - 60
    client.call("GET", "/customers/c1")
    assert erp.routes[0].call_count == 2
    assert erp.calls.last.request.headers["authorization"] == "Bearer t-1"


def test_a_401_fetches_a_new_token_and_retries_once(erp, client) -> None:
    route = erp.get("/customers/c1").mock(side_effect=[httpx.Response(401, json={"detail": "expired"}),
                                                       httpx.Response(200, json={"id": "c1"})])
    assert client.call("GET", "/customers/c1") == {"id": "c1"}
    assert route.call_count == 2 and erp.routes[0].call_count == 2


def test_a_second_401_is_an_error_not_a_loop(erp, client) -> None:
    erp.get("/customers/c1").mock(return_value=httpx.Response(401, json={"detail": "revoked"}))
    with pytest.raises(ApiError) as raised:
        client.call("GET", "/customers/c1")
    assert raised.value.status == 401 and "revoked" in str(raised.value)


def test_after_a_429_nothing_is_sent_until_the_retry_after_has_passed(erp, client, clock) -> None:
    route = erp.post("/charge-batches").mock(side_effect=[
        httpx.Response(429, headers={"retry-after": "30"}, json={"detail": "slow down"}),
        httpx.Response(201, json={"data": []})])
    with pytest.raises(ApiError) as first:
        client.call("POST", "/charge-batches", json={"charges": []})
    assert first.value.status == 429 and first.value.retry_after == 30
    clock.now += 29
    with pytest.raises(Throttled) as local:
        client.call("POST", "/charge-batches", json={"charges": []})
    assert route.call_count == 1 and local.value.retry_after == pytest.approx(1)
    clock.now += 1
    assert client.call("POST", "/charge-batches", json={"charges": []}) == {"data": []}
    assert route.call_count == 2


def test_a_503_is_an_error_carrying_its_problem_detail(erp, client) -> None:
    erp.get("/invoices").mock(return_value=httpx.Response(503, headers={"retry-after": "5"},
                                                          json={"title": "Service Unavailable", "detail": "maintenance"}))
    with pytest.raises(ApiError) as raised:
        client.call("GET", "/invoices")
    assert (raised.value.status, raised.value.retry_after) == (503, 5.0)
    assert raised.value.problem["detail"] == "maintenance"


def test_a_response_lost_on_the_way_back_surfaces_as_a_transport_error(erp, client) -> None:
    """The request may have been committed: the caller must retry it under the same Idempotency-Key."""
    route = erp.post("/charge-batches").mock(side_effect=httpx.ReadError("connection reset"))
    with pytest.raises(httpx.TransportError):
        client.call("POST", "/charge-batches", json={"charges": []}, headers={"idempotency-key": "k-1"})
    assert route.calls.last.request.headers["idempotency-key"] == "k-1"


def test_list_all_follows_the_cursor_to_the_last_page(erp, client) -> None:
    route = erp.get("/customers").mock(side_effect=[
        httpx.Response(200, json={"data": [{"id": "c1"}], "next_cursor": "p2"}),
        httpx.Response(200, json={"data": [{"id": "c2"}], "next_cursor": None})])
    assert [c["id"] for c in client.list_all("/customers", page_size=1)] == ["c1", "c2"]
    assert route.calls[1].request.url.params["cursor"] == "p2"
    assert route.calls[0].request.url.params["limit"] == "1"


def test_a_retry_after_of_0_is_not_leave_to_hammer(erp, client, clock) -> None:
    """Served fast, waits are told in whole wall seconds and round down to 0: the client still waits a little,
    longer with each 429 in a row, and starts over once the system answers anything else."""
    from reference_impl.api import THROTTLE_CEILING_S, THROTTLE_FLOOR_S

    refused = httpx.Response(429, headers={"retry-after": "0"}, json={"detail": "slow down"})
    erp.get("/things").mock(side_effect=[refused, refused, httpx.Response(200, json={}), refused])
    with pytest.raises(ApiError) as first:
        client.call("GET", "/things")
    assert first.value.retry_after == pytest.approx(THROTTLE_FLOOR_S)
    with pytest.raises(Throttled):  # not sent: the least wait is not over
        client.call("GET", "/things")
    clock.now += THROTTLE_FLOOR_S
    with pytest.raises(ApiError) as second:
        client.call("GET", "/things")
    assert second.value.retry_after == pytest.approx(2 * THROTTLE_FLOOR_S)  # doubled: a second 429 in a row
    clock.now += 2 * THROTTLE_FLOOR_S
    assert client.call("GET", "/things") == {}
    with pytest.raises(ApiError) as after_success:
        client.call("GET", "/things")
    assert after_success.value.retry_after == pytest.approx(THROTTLE_FLOOR_S)  # from the floor again
    assert THROTTLE_FLOOR_S < THROTTLE_CEILING_S
