"""The in-process transport and real HTTP (uvicorn) answer a recorded session byte for byte alike.

Two fresh, identical sets of systems; the same requests, in the same order,
one set reached in-process, the other over a socket. Every answer must
match: status, content type, idempotency headers and body bytes, including
errors (unknown route, bad JSON, missing token, stale ``If-Match``) and an
idempotent replay.
"""

from __future__ import annotations

import json

import httpx

from mocks.core.clock import FixedClock
from mocks.core.transport import InProcessTransport
from mocks.systems import build_systems
from tests.conftest import TAX_RATES, Api
from tests.mocks.factories import crm_account, erp_customer

COMPARED_HEADERS = ("content-type", "idempotent-replayed", "etag", "retry-after", "www-authenticate")


def session(api: Api) -> list[tuple[int, dict[str, str], bytes]]:
    """A recorded session against the systems: the answers, in order."""
    answers = []

    def record(response: httpx.Response) -> httpx.Response:
        answers.append((response.status_code, {h: response.headers.get(h, "") for h in COMPARED_HEADERS},
                        response.content))
        return response

    account = record(api("crm", "POST", "/accounts", json=crm_account())).json()
    record(api("crm", "GET", f"/accounts/{account['id']}"))
    record(api("crm", "GET", "/accounts", params={"limit": "1"}))
    record(api("crm", "GET", "/accounts/acc_missing"))
    record(api("crm", "PATCH", f"/accounts/{account['id']}", json={"name": "Acme Ltd"}, headers={"if-match": '"0"'}))
    record(api("crm", "POST", "/accounts", content=b"{not json", headers={"content-type": "application/json"}))
    record(api("erp", "POST", "/customers", json=erp_customer(), headers={"idempotency-key": "k-1"}))
    record(api("erp", "POST", "/customers", json=erp_customer(), headers={"idempotency-key": "k-1"}))
    record(api("erp", "GET", "/nowhere"))
    record(api.http.get(api.urls["psa"] + "/projects"))  # no token
    record(api("psa", "GET", "/events", params={"after": "0", "limit": "5"}))
    return answers


def test_both_transports_answer_a_recorded_session_alike(systems, http_server) -> None:
    twin = build_systems(FixedClock(), TAX_RATES, seed=7)  # a second set, made as the ``systems`` fixture makes it
    twin.erp.add_legal_entity("US01", "c2c US", "USD", "US01")
    twin.erp.add_legal_entity("UK01", "c2c UK", "GBP", "UK01")
    in_process = session(Api(httpx.Client(transport=InProcessTransport(systems.services_by_host)), systems.urls,
                             systems))
    http_server.app.services = twin.services
    try:
        with httpx.Client() as http:
            over_http = session(Api(http, http_server.urls, twin))
    finally:
        http_server.app.services = {}
    assert len(in_process) == len(over_http) == 11
    for number, (mine, theirs) in enumerate(zip(in_process, over_http, strict=True), 1):
        assert mine == theirs, f"answer {number}: in-process {mine!r}\nover HTTP {theirs!r}"
    statuses = [status for status, _, _ in in_process]
    assert {201, 200, 404, 400, 401} <= set(statuses), statuses
    assert json.loads(in_process[7][2]) == json.loads(in_process[6][2])  # the replay
