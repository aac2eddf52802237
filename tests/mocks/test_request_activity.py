"""Over real HTTP the app tells a served firm's activity how each request ended, and whether it handed over records.

A read that handed the caller records (an entity, a page of a list with
records) is the start of work; a ``304``, an empty page and a change feed's
page are not (:func:`mocks.core.asgi.hands_records`), nor is the same answer
the same request had last time (:class:`mocks.core.asgi.AnswersHanded`). The firm's quiescence
decides from that whether to wait (``tests/test_quiescence.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from mocks.core.asgi import AnswersHanded, hands_records
from mocks.core.routing import ApiRequest, ApiResponse
from mocks.server import SystemsServer
from mocks.systems import Systems
from tests.conftest import Api
from tests.mocks.factories import create, erp_customer, erp_project


class Told:
    """The (method, status, records) of every request the app said had ended."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, int | None, bool]] = []
        self.open = 0

    def began(self) -> None:
        self.open += 1

    def ended(self, status: int | None, method: str, records: bool) -> None:
        self.answers.append((method, status, records))
        self.open -= 1

    def last(self) -> tuple[str, int | None, bool]:
        """The last request's ending: the app tells it just after the answer is sent, so wait for it a moment."""
        deadline = time.monotonic() + 2.0
        while self.open and time.monotonic() < deadline:
            time.sleep(0.001)
        assert self.open == 0, "the app never said the request ended"
        return self.answers[-1]


@pytest.fixture
def told(systems: Systems, http_server: SystemsServer) -> Iterator[tuple[Api, Told]]:
    activity = Told()
    http_server.app.services, http_server.app.activity = systems.services, activity
    with httpx.Client() as http:
        yield Api(http, http_server.urls, systems), activity
    http_server.app.services, http_server.app.activity = {}, None


def test_each_answer_says_whether_it_handed_the_caller_records(told, systems: Systems) -> None:
    api, activity = told
    systems.erp.open_period("2026-01")
    api.token("erp")
    assert activity.last() == ("POST", 200, True)
    assert api("erp", "GET", "/events").status_code == 200
    assert activity.last() == ("GET", 200, False), "a feed's page, records or not: what it names is read next"
    cursor = api("erp", "GET", "/events").json()["next_cursor"]
    assert api("erp", "GET", "/events", params={"after": cursor}).json()["data"] == []
    assert activity.last() == ("GET", 200, False), "a feed poll that found nothing"
    customer = create(api, "erp", "/customers", erp_customer())
    project = erp_project(api, customer["id"])
    assert api("erp", "GET", f"/customers/{customer['id']}").status_code == 200
    assert activity.last() == ("GET", 200, True), "an entity"
    assert api("erp", "GET", f"/customers/{customer['id']}").status_code == 200
    assert activity.last() == ("GET", 200, False), "the same entity, unchanged: nothing the caller did not have"
    renamed = api("erp", "PATCH", f"/customers/{customer['id']}", json={"name": "Renamed Ltd"},
                  headers={"if-match": f'"{customer["version"]}"'})
    assert renamed.status_code == 200, renamed.text
    assert api("erp", "GET", f"/customers/{customer['id']}").status_code == 200
    assert activity.last() == ("GET", 200, True), "the entity changed since"
    listed = api("erp", "GET", "/charges", params={"billing_project_id": project["id"]})
    assert listed.json()["data"] == [] and activity.last() == ("GET", 200, False), "an empty list"
    etag = listed.headers["etag"]
    assert api("erp", "GET", "/charges", params={"billing_project_id": project["id"]},
               headers={"if-none-match": etag}).status_code == 304
    assert activity.last() == ("GET", 304, False), "not modified"


@pytest.mark.parametrize(("path", "response", "records"), [
    ("/customers/cus_1", ApiResponse(200, {"id": "cus_1"}), True),
    ("/charges", ApiResponse(200, {"data": [{"id": "chg_1"}], "next_cursor": None}), True),
    ("/charges", ApiResponse(200, {"data": [], "next_cursor": None}), False),
    ("/charges", ApiResponse(304), False),
    ("/events", ApiResponse(200, {"data": [{"id": "evt_1"}], "next_cursor": "1"}), False),
    ("/events", ApiResponse(200, {"data": [], "next_cursor": "1"}), False),
    ("/charge-batches", ApiResponse(201, {"id": "chb_1"}), True),
    ("/customers/cus_9", ApiResponse(404, {"title": "Not Found"}), True),  # a refusal: told apart by its status
])
def test_hands_records(path: str, response: ApiResponse, records: bool) -> None:
    assert hands_records(path, response) is records


def test_a_read_is_new_unless_the_same_caller_had_the_same_answer_to_it_last() -> None:
    handed = AnswersHanded()
    token = {"authorization": "Bearer t1"}
    periods = ApiRequest.build("GET", "/periods", "status=open&limit=50", token, b"")
    same_query_reordered = ApiRequest.build("GET", "/periods", "limit=50&status=open", token, b"")
    assert handed.new("erp", periods, b'{"data":[1]}')
    assert not handed.new("erp", periods, b'{"data":[1]}')
    assert not handed.new("erp", same_query_reordered, b'{"data":[1]}')
    assert handed.new("erp", ApiRequest.build("GET", "/periods", "status=closed", token, b""), b'{"data":[1]}'), \
        "another request"
    assert handed.new("psa", periods, b'{"data":[1]}'), "another system"
    restarted = ApiRequest.build("GET", "/periods", "status=open&limit=50", {"authorization": "Bearer t2"}, b"")
    assert handed.new("erp", restarted, b'{"data":[1]}'), "another caller: a connector started again has a new token"
    assert handed.new("erp", periods, b'{"data":[1,2]}'), "changed"
    assert handed.new("erp", periods, b'{"data":[]}'), "emptied"
    assert handed.new("erp", periods, b'{"data":[1,2]}'), "back after an empty answer: new again"


def test_a_write_is_never_taken_for_a_repeat() -> None:
    handed = AnswersHanded()
    create = ApiRequest.build("POST", "/charge-batches", "", {"authorization": "Bearer t1"}, b"{}")
    assert handed.new("erp", create, b'{"id":"chb_1"}')
    assert handed.new("erp", create, b'{"id":"chb_1"}'), "an idempotent replay of a write is still a write"


def test_answers_handed_forgets_rather_than_grows() -> None:
    handed = AnswersHanded()
    handed.REMEMBERED = 3
    requests = [ApiRequest.build("GET", f"/customers/cus_{n}", "", {}, b"") for n in range(4)]
    for request in requests:
        assert handed.new("erp", request, b"{}")
    assert handed.new("erp", requests[0], b"{}"), "forgotten: counted as new, never wrongly as old"
