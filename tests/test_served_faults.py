"""Served mode with an external connector: the scenario's HTTP faults meet its requests over real HTTP.

A stand-in connector on a real socket receives the forwarded webhooks and,
for the first two, asks for a token and reads a CRM account list over HTTP,
as a connector in another process would. The scenario fails every CRM read
with a 503 that says when to come back, and kills the connector at its
third call: the stand-in sees the 503s and one dropped connection, the kill
callback is called once, and the run's fault counts show them all. With
the connector in process the served app asks the plan nothing (that
connector meets the faults in its own transport, once).
"""

from __future__ import annotations

import threading

import httpx

from mocks.server import LoopbackServer, SystemsServer
from mocks.systems import Systems
from simulator.scenario import parse_scenario
from simulator.served import serve

SPEED = 3_456_000  # forty simulated days per wall second: the tiny firm's run takes about a second

SCENARIO = """\
name: served_faults
start: 2026-01-01
months: 1
settle_days: 5
drain_days: 1
firm: {consultants: 2, roles: [{name: analyst, share: 1, rates: {USD: "100.00"}}]}
legal_entities: [{id: US01, name: "c2c US", currency: USD, invoice_prefix: US01}]
customers: {count: 1, tax_jurisdictions: {US-NY: "0.08875"}}
contracts: {per_month: 1}
faults:
  http:
    - {kind: server_error, rate: 1.0, systems: [crm], methods: [GET], retry_after_s: 7}
  crashes:
    at_calls: [3]
"""


class StandIn:
    """A connector in another process, as the systems see it: webhooks in (204), its own calls out over HTTP."""

    def __init__(self, calls_on: int = 2) -> None:
        self.calls_on = calls_on
        self.deliveries = 0
        self.urls: dict[str, str] = {}
        self.credentials = None
        self.seen: list[object] = []  # per call: (status, Retry-After), or the transport error's type

    def announced(self, server: SystemsServer, systems: Systems) -> None:
        self.urls, self.credentials = server.urls, systems.credentials

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.deliveries += 1
        if self.deliveries <= self.calls_on:
            self.call_the_systems()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def call_the_systems(self) -> None:
        with httpx.Client(timeout=5.0) as http:
            try:
                token = http.post(self.urls["crm"] + "/oauth/token", data={
                    "grant_type": "client_credentials", "client_id": self.credentials.client_id,
                    "client_secret": self.credentials.client_secret})
                self.seen.append((token.status_code, None))
                accounts = http.get(self.urls["crm"] + "/accounts",
                                    headers={"authorization": f"Bearer {token.json()['access_token']}"})
                self.seen.append((accounts.status_code, accounts.headers.get("retry-after")))
            except httpx.TransportError as error:
                self.seen.append(type(error).__name__)


def test_an_external_connector_meets_the_scenarios_http_faults_over_http() -> None:
    scenario = parse_scenario(SCENARIO, "served_faults.yaml")
    stand_in, kills = StandIn(), []
    with LoopbackServer(stand_in) as connector:
        result = serve(scenario, 1, SPEED, stand_in.announced, connector_url=connector.base_url,
                       on_connector_killed=lambda: kills.append(threading.current_thread().name))
    assert stand_in.deliveries > 2
    # first delivery: the token (call 1), then the read (call 2) fails; second: the token request is the third call,
    # the kill point (committed, then the connection dropped); no read follows it
    # Retry-After: the rule's 7 simulated seconds told in wall seconds at forty days per second: 0, retry at once
    assert stand_in.seen == [(200, None), (503, "0"), "RemoteProtocolError"], stand_in.seen
    assert kills == ["c2c-loopback-server"], "called once, from the server's thread"
    assert result.fault_counts["server_error"] == 1 and result.fault_counts["process_killed"] == 1
    assert result.trace_counts["fault"] == sum(result.fault_counts.values())


def test_a_connector_in_process_meets_the_faults_in_its_own_transport_only() -> None:
    scenario = parse_scenario(SCENARIO.replace("at_calls: [3]", "at_calls: []"), "served_faults.yaml")
    seen = []

    def announced(server: SystemsServer, systems: Systems) -> None:  # a client of the served systems, not the connector
        with httpx.Client(timeout=5.0) as http:
            token = http.post(server.urls["crm"] + "/oauth/token", data={
                "grant_type": "client_credentials", "client_id": systems.credentials.client_id,
                "client_secret": systems.credentials.client_secret}).json()["access_token"]
            seen.append(http.get(server.urls["crm"] + "/accounts",
                                 headers={"authorization": f"Bearer {token}"}).status_code)

    result = serve(scenario, 1, SPEED, announced)
    assert seen == [200], "the served app asks no fault plan when the connector is in process"
    assert result.fault_counts["server_error"] > 0, "the in-process connector met the rule in its own transport"


def test_a_server_errors_retry_after_is_told_in_wall_seconds() -> None:
    """The scenario's Retry-After is simulated seconds; a served app tells it in wall seconds, rounded down."""
    from mocks.core.faults import SERVER_ERROR, HttpFault
    from simulator.served import WallClockFaults

    class Plan:
        def __init__(self, retry_after_s: int | None) -> None:
            self.retry_after_s = retry_after_s

        def http_fault(self, system: str, method: str, path: str) -> HttpFault:
            return HttpFault(SERVER_ERROR, 503, retry_after_s=self.retry_after_s)

        def dies_after(self, system: str, method: str, path: str, status: int) -> bool:
            return status == 201

    hour_per_second = 3600.0
    assert WallClockFaults(Plan(7200), hour_per_second).http_fault("crm", "GET", "/accounts").retry_after_s == 2
    assert WallClockFaults(Plan(5399), hour_per_second).http_fault("crm", "GET", "/accounts").retry_after_s == 1
    assert WallClockFaults(Plan(None), hour_per_second).http_fault("crm", "GET", "/accounts").retry_after_s is None
    assert WallClockFaults(Plan(1), hour_per_second).dies_after("crm", "POST", "/accounts", 201)
