"""Idempotency-Key on ERP POSTs, with Stripe's semantics and the IETF draft's status codes (mocks/core/idempotency.py)."""

from __future__ import annotations

import json

import pytest

from mocks.core.idempotency import IdempotencyStore, canonical_payload
from mocks.core.problems import Problem
from mocks.core.routing import ApiRequest, ApiResponse, problem_response
from tests.mocks.factories import assert_problem, create, erp_charge, erp_customer, erp_project

DAY = 24 * 3600


@pytest.fixture
def project(api, systems) -> dict:
    systems.erp.open_period("2026-01")  # billing runs only for an open period
    customer = create(api, "erp", "/customers", erp_customer())
    return erp_project(api, customer["id"])


def post_charge(api, project_id: str, key: str, amount: int = 10_000, **overrides):
    return api("erp", "POST", "/charges", json=erp_charge(project_id, amount, **overrides),
               headers={"Idempotency-Key": key})


def test_same_key_same_payload_replays_stored_response(api, systems, project):
    first = post_charge(api, project["id"], "key-1")
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers

    second = post_charge(api, project["id"], "key-1")

    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.content == first.content  # byte for byte
    assert len(systems.erp.charges) == 1
    events = api("erp", "GET", "/events").json()["data"]
    assert [e["type"] for e in events].count("erp.charge.created") == 1


def test_distinct_keys_create_distinct_entities(api, systems, project):
    a = post_charge(api, project["id"], "key-a")
    b = post_charge(api, project["id"], "key-b")
    assert a.json()["id"] != b.json()["id"]
    assert len(systems.erp.charges) == 2


def test_without_key_every_post_creates(api, systems, project):
    for _ in range(2):
        assert api("erp", "POST", "/charges", json=erp_charge(project["id"], 500)).status_code == 201
    assert len(systems.erp.charges) == 2


def test_same_key_different_payload_is_idempotency_error(api, systems, project):
    assert post_charge(api, project["id"], "key-1", amount=10_000).status_code == 201

    response = post_charge(api, project["id"], "key-1", amount=20_000)

    body = assert_problem(response, 422, "idempotency_error")
    assert body["type"].endswith("idempotency_error")
    assert body["idempotency_key"] == "key-1"
    assert len(systems.erp.charges) == 1


def test_same_key_on_a_different_endpoint_is_idempotency_error(api, systems, project):
    assert post_charge(api, project["id"], "shared").status_code == 201
    response = api("erp", "POST", "/customers", json=erp_customer("Other"), headers={"Idempotency-Key": "shared"})
    assert_problem(response, 422, "idempotency_error")
    assert len(systems.erp.customers) == 1


def test_validation_failure_stores_nothing_and_fixed_retry_succeeds(api, systems, project):
    broken = erp_charge(project["id"], 10_000)
    del broken["description"]
    rejected = api("erp", "POST", "/charges", json=broken, headers={"Idempotency-Key": "key-1"})
    assert_problem(rejected, 422, "validation_error")
    assert len(systems.services["erp"].idempotency) == 0

    fixed = post_charge(api, project["id"], "key-1")

    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert len(systems.erp.charges) == 1


def test_keys_expire_after_24h_of_simulated_time(api, systems, clock, project):
    first = post_charge(api, project["id"], "key-1")
    clock.advance(DAY - 60)
    api._tokens.clear()  # the bearer token lives an hour; the key lives a day
    within = post_charge(api, project["id"], "key-1")
    assert within.headers.get("idempotent-replayed") == "true"
    assert within.json()["id"] == first.json()["id"]

    clock.advance(120)  # now past 24 h since the first request
    api._tokens.clear()
    after = post_charge(api, project["id"], "key-1")

    assert after.status_code == 201
    assert "idempotent-replayed" not in after.headers
    assert after.json()["id"] != first.json()["id"]
    assert len(systems.erp.charges) == 2


def test_expired_key_may_be_reused_with_a_new_payload(api, systems, clock, project):
    assert post_charge(api, project["id"], "key-1", amount=1).status_code == 201
    clock.advance(DAY + 1)
    api._tokens.clear()
    assert post_charge(api, project["id"], "key-1", amount=2).status_code == 201
    assert sorted(c.amount for c in systems.erp.charges.values()) == [1, 2]


def test_replayed_invoice_post_is_not_a_conflict(api, systems, project):
    """A connector retrying a post after a lost response gets the first answer, not a 409."""
    assert post_charge(api, project["id"], "chg").status_code == 201
    run = create(api, "erp", "/billing-runs", {"legal_entity": "US01", "period": "2026-01"})
    invoice_id = run["invoices"][0]["id"]

    first = api("erp", "POST", f"/invoices/{invoice_id}/post", headers={"Idempotency-Key": "post-1"})
    retry = api("erp", "POST", f"/invoices/{invoice_id}/post", headers={"Idempotency-Key": "post-1"})
    unkeyed = api("erp", "POST", f"/invoices/{invoice_id}/post")

    assert first.status_code == 200 and first.json()["number"] == "US01-000001"
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["number"] == "US01-000001"
    assert_problem(unkeyed, 409)
    assert systems.erp.legal_entities["US01"].last_number == 1



def test_replay_is_byte_for_byte_even_after_the_entity_changed(api, project):
    assert post_charge(api, project["id"], "chg").status_code == 201
    invoice_id = create(api, "erp", "/billing-runs", {"legal_entity": "US01", "period": "2026-01"})["invoices"][0]["id"]
    first = api("erp", "POST", f"/invoices/{invoice_id}/post", headers={"Idempotency-Key": "post-1"})
    charge_id = first.json()["lines"][0]["charge_id"]
    disputed = api("erp", "POST", f"/invoices/{invoice_id}/disputes", json={"reason": "too much", "charge_ids": [charge_id]})
    assert disputed.status_code == 201, disputed.text

    replay = api("erp", "POST", f"/invoices/{invoice_id}/post", headers={"Idempotency-Key": "post-1"})

    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content


def test_replayed_headers_are_those_first_sent(api, project):
    customer = api("erp", "POST", "/customers", json=erp_customer("Etag"), headers={"Idempotency-Key": "cus-1"})
    api("erp", "PATCH", f"/customers/{customer.json()['id']}", json={"name": "Etag 2"})

    replay = api("erp", "POST", "/customers", json=erp_customer("Etag"), headers={"Idempotency-Key": "cus-1"})

    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["etag"] == customer.headers["etag"] == '"1"'
    assert replay.content == customer.content and replay.json()["name"] == "Etag"


def test_token_endpoint_is_never_replayed(api, systems):
    """An Idempotency-Key on POST /oauth/token must not hand a second caller the first caller's token."""
    form = {"grant_type": "client_credentials", "client_id": api.credentials.client_id,
            "client_secret": api.credentials.client_secret}
    url = api.urls["erp"] + "/oauth/token"

    first = api.http.post(url, data=form, headers={"Idempotency-Key": "tok-1"})
    second = api.http.post(url, data=form, headers={"Idempotency-Key": "tok-1"})

    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in second.headers
    assert first.json()["access_token"] != second.json()["access_token"]
    assert len(systems.services["erp"].idempotency) == 0


def test_domain_posts_are_still_idempotent_after_a_keyed_token_request(api, systems, project):
    form = {"grant_type": "client_credentials", "client_id": api.credentials.client_id,
            "client_secret": api.credentials.client_secret}
    api.http.post(api.urls["erp"] + "/oauth/token", data=form, headers={"Idempotency-Key": "shared"})
    assert post_charge(api, project["id"], "shared").status_code == 201
    assert post_charge(api, project["id"], "shared").headers["idempotent-replayed"] == "true"
    assert len(systems.erp.charges) == 1


# -- the payload is compared as canonical JSON ----------------------------------------------------------------


def post_raw(api, key: str, content: bytes):
    return api("erp", "POST", "/charges", content=content,
               headers={"Idempotency-Key": key, "content-type": "application/json"})


def test_reordered_keys_and_whitespace_are_the_same_payload(api, systems, project):
    body = erp_charge(project["id"], 10_000)
    first = post_raw(api, "key-1", json.dumps(body).encode())
    assert first.status_code == 201, first.text

    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    replay = post_raw(api, "key-1", reordered)

    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert len(systems.erp.charges) == 1


def test_a_nested_difference_is_still_a_different_payload(api, systems, project):
    body = erp_charge(project["id"], 10_000)
    assert post_raw(api, "key-1", json.dumps(body).encode()).status_code == 201
    body["lineage"]["amount"] = 10_001
    assert_problem(post_raw(api, "key-1", json.dumps(body).encode()), 422, "idempotency_error")
    assert len(systems.erp.charges) == 1


def test_canonical_payload_falls_back_to_raw_bytes():
    assert canonical_payload(b'{"b": 1, "a": [1, 2]}') == canonical_payload(b'{"a":[1,2],"b":1}')
    assert canonical_payload(b'{"a": [2, 1]}') != canonical_payload(b'{"a": [1, 2]}')
    assert canonical_payload(b"not json") == canonical_payload(b"not json") != canonical_payload(b"not  json")
    assert canonical_payload(b"\xff\xfe") != canonical_payload(b"")
    assert canonical_payload(b"[" * 100_000) == b"raw:" + b"[" * 100_000  # too deep to parse: compared as bytes


def request(body: bytes, path: str = "/charges", method: str = "POST", client: str = "c1") -> ApiRequest:
    return ApiRequest(method, path, {}, {}, body, client_id=client)


def test_a_non_json_body_is_compared_byte_for_byte():
    store = IdempotencyStore(lambda: 0.0)
    calls = []

    def run(req: ApiRequest) -> ApiResponse:
        calls.append(req.body)
        return ApiResponse(201, {"n": len(calls)})

    assert store.handle(request(b"a=1&b=2"), "k", run).status == 201
    replay = store.handle(request(b"a=1&b=2"), "k", run)
    assert replay.headers["idempotent-replayed"] == "true" and calls == [b"a=1&b=2"]
    with pytest.raises(Problem) as info:
        store.handle(request(b"b=2&a=1"), "k", run)
    assert info.value.status == 422 and info.value.kind == "idempotency_error"


def test_a_payload_is_made_canonical_only_to_tell_apart_bytes_that_differ(monkeypatch):
    from mocks.core import idempotency

    made: list[bytes] = []
    original = idempotency.canonical_payload
    monkeypatch.setattr(idempotency, "canonical_payload", lambda body: made.append(body) or original(body))
    store = IdempotencyStore(lambda: 0.0)
    store.handle(request(b'{"a": 1, "b": [1, 2]}'), "k", lambda req: ApiResponse(201, {}))
    assert store.handle(request(b'{"a": 1, "b": [1, 2]}'), "k", lambda req: ApiResponse(201, {})).status == 201
    assert made == []  # the very same bytes: the same request, nothing to canonicalise
    assert store.handle(request(b'{"b":[1,2],"a":1}'), "k", lambda req: ApiResponse(201, {})).status == 201
    assert sorted(made) == sorted([b'{"a": 1, "b": [1, 2]}', b'{"b":[1,2],"a":1}'])


def test_the_same_key_on_another_method_or_path_is_a_different_request():
    store = IdempotencyStore(lambda: 0.0)
    store.handle(request(b"{}", "/charges"), "k", lambda req: ApiResponse(201, {}))
    for other in (request(b"{}", "/charge-batches"), request(b"{}", method="PUT")):
        with pytest.raises(Problem) as info:
            store.handle(other, "k", lambda req: ApiResponse(201, {}))
        assert info.value.status == 422
    store.handle(request(b"{}", client="c2"), "k", lambda req: ApiResponse(201, {}))  # keys are per client


# -- the same key while the first request is still being processed ----------------------------------------------


def test_the_same_key_in_flight_is_a_409_and_the_endpoint_runs_once():
    store = IdempotencyStore(lambda: 0.0)
    seen: list[Problem] = []
    runs = []

    def run(req: ApiRequest) -> ApiResponse:
        runs.append(req.body)
        for body in (b'{"a": 1}', b'{"a": 2}'):  # the same request again, then another one, under the same key
            with pytest.raises(Problem) as info:
                store.handle(request(body), "k", run)
            seen.append(info.value)
        return ApiResponse(201, {"created": True})

    first = store.handle(request(b'{"a":1}'), "k", run)

    assert first.status == 201 and runs == [b'{"a":1}']
    in_flight, different = seen
    assert (in_flight.status, in_flight.kind) == (409, "idempotency_in_progress")
    assert in_flight.extra["idempotency_key"] == "k" and "still being processed" in in_flight.detail
    assert (different.status, different.kind) == (422, "idempotency_error")
    response = problem_response(in_flight)
    assert response.status == 409 and response.headers["content-type"] == "application/problem+json"
    assert store.handle(request(b'{"a": 1}'), "k", run).headers["idempotent-replayed"] == "true"


def test_a_key_whose_request_failed_is_free_again():
    store = IdempotencyStore(lambda: 0.0)

    def fail(req: ApiRequest) -> ApiResponse:
        raise Problem("bad input")

    with pytest.raises(Problem):
        store.handle(request(b"{}"), "k", fail)
    assert store.handle(request(b"{}"), "k", lambda req: ApiResponse(201, {})).status == 201


# -- what the store holds ----------------------------------------------------------------------------------------


def test_expired_keys_are_forgotten_so_the_store_holds_one_retention_of_answers():
    now = [0.0]
    store = IdempotencyStore(lambda: now[0], retention_s=DAY)

    def created(req: ApiRequest) -> ApiResponse:
        return ApiResponse(201, {"body": req.body.decode()})

    for hour in range(72):  # three days of one request an hour, each under a new key
        now[0] = hour * 3600.0
        store.handle(request(b'{"n": %d}' % hour), f"k{hour}", created)
        assert len(store) == min(hour + 1, 25), hour  # the last 24 h and the one stored exactly 24 h ago
    now[0] = 71 * 3600.0 + 1
    assert store.handle(request(b'{"n": 70}'), "k70", created).headers["idempotent-replayed"] == "true"


def test_a_key_stored_again_after_expiry_keeps_its_new_answer_when_the_old_one_is_forgotten():
    now = [0.0]
    store = IdempotencyStore(lambda: now[0], retention_s=10)
    store.handle(request(b'{"v": 1}'), "k", lambda req: ApiResponse(201, {"v": 1}))
    now[0] = 11.0
    store.handle(request(b'{"v": 2}'), "k", lambda req: ApiResponse(201, {"v": 2}))  # expired: a new request
    now[0] = 12.0
    replay = store.handle(request(b'{"v": 2}'), "k", lambda req: ApiResponse(500, {}))
    assert replay.headers["idempotent-replayed"] == "true" and json.loads(replay.content) == {"v": 2}
    assert len(store) == 1
