"""HTTP faults over real HTTP: the ASGI app asks the injector and does each kind for real.

A real uvicorn server on loopback, a real httpx client, and a scripted
injector that names the fault of chosen requests. What the client sees per
kind: the 5xx problem (with ``Retry-After``) byte for byte as in process;
a real delay during which other requests are served; a transport error,
never a status, for a lost response (the write committed), a reset or a
timeout (nothing written); at a kill point the callback once, without the
lock, then a transport error. Only a system's requests meet faults, token
requests included; the health and control endpoints do not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from mocks.core import asgi
from mocks.core.asgi import ASGI_EFFECTS, SystemsApp
from mocks.core.faults import (
    CONNECTION_RESET,
    EFFECTS,
    LATENCY,
    LOST_RESPONSE,
    OUTAGE,
    PROCESS_KILLED,
    SERVER_ERROR,
    TIMEOUT,
    FaultTransport,
    HttpFault,
)
from mocks.core.transport import InProcessTransport
from mocks.server import SystemsServer
from mocks.systems import Systems
from tests.conftest import Api
from tests.mocks.factories import erp_customer

CUSTOMERS = ("POST", "/customers")


class Scripted:
    """An injector that names the fault of the next request to (method, path) and the answers the caller dies after.

    It records every question, so a test sees which requests were asked about and in what order.
    """

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], HttpFault] = {}
        self.dies: set[tuple[str, str]] = set()
        self.asked: list[tuple[str, str, str]] = []
        self.answered: list[tuple[str, str, str, int]] = []
        self.asked_event = threading.Event()

    def http_fault(self, system: str, method: str, path: str) -> HttpFault | None:
        self.asked.append((system, method, path))
        fault = self.script.pop((method, path), None)
        if fault is not None:
            self.asked_event.set()
        return fault

    def dies_after(self, system: str, method: str, path: str, status: int) -> bool:
        self.answered.append((system, method, path, status))
        return (method, path) in self.dies


class Faulty:
    """The systems behind the faulty app, a client of them, and what the kill callback saw."""

    def __init__(self, systems: Systems, server: SystemsServer, injector: Scripted) -> None:
        self.systems = systems
        self.server = server
        self.injector = injector
        self.kills: list[bool] = []  # per call of on_connector_killed: whether the lock was held
        self.http = httpx.Client(timeout=5.0)
        self.api = Api(self.http, server.urls, systems)

    def killed(self) -> None:
        self.kills.append(self.server.app.lock.locked())

    def create_customer(self, **kwargs) -> httpx.Response:
        return self.api("erp", *CUSTOMERS, json=erp_customer(), **kwargs)

    def customers(self) -> int:
        return len(self.systems.erp.customers)


@pytest.fixture(scope="module")
def server() -> Iterator[SystemsServer]:
    with SystemsServer(SystemsApp({})) as served:
        yield served


@pytest.fixture
def faulty(systems: Systems, server: SystemsServer) -> Iterator[Faulty]:
    injector = Scripted()
    server.app.services = systems.services
    world = Faulty(systems, server, injector)
    server.app.faults, server.app.on_connector_killed = injector, world.killed
    world.api.token("erp")  # before any script: the token request is asked about like any other
    try:
        yield world
    finally:
        world.http.close()
        server.app.services, server.app.faults, server.app.on_connector_killed = {}, None, None


def test_every_fault_kind_is_done_over_http_too() -> None:
    assert set(ASGI_EFFECTS) == set(EFFECTS)


@pytest.mark.parametrize("fault", [HttpFault(SERVER_ERROR, 503, retry_after_s=30), HttpFault(SERVER_ERROR, 500),
                                   HttpFault(OUTAGE, 503)])
def test_a_gateway_error_is_the_in_process_problem_byte_for_byte(faulty: Faulty, fault: HttpFault) -> None:
    faulty.injector.script[CUSTOMERS] = fault
    over_http = faulty.create_customer()
    in_process = Scripted()
    in_process.script[CUSTOMERS] = fault
    transport = FaultTransport(InProcessTransport(faulty.systems.services_by_host), faulty.systems.system_of_host,
                               in_process)
    expected = httpx.Client(transport=transport).post(faulty.systems.urls["erp"] + "/customers")
    assert over_http.status_code == expected.status_code == fault.status
    assert over_http.content == expected.content
    for header in ("content-type", "retry-after"):
        assert over_http.headers.get(header) == expected.headers.get(header)
    assert over_http.headers.get("retry-after") == (None if fault.retry_after_s is None else str(fault.retry_after_s))
    assert faulty.customers() == 0, "the system never saw the request"


def test_latency_delays_the_request_before_it_is_handled_without_holding_the_lock(faulty: Faulty) -> None:
    delay = 1.5
    faulty.injector.script[CUSTOMERS] = HttpFault(LATENCY, delay_s=delay)
    slow: dict[str, object] = {}

    def call() -> None:
        started = time.monotonic()
        slow["response"] = faulty.create_customer()
        slow["elapsed"] = time.monotonic() - started

    caller = threading.Thread(target=call)
    caller.start()
    assert faulty.injector.asked_event.wait(5.0), "the slow request reached the server"
    meanwhile = faulty.api("erp", "GET", "/customers")  # served while the slow one waits: the lock is free
    not_yet = [customer["id"] for customer in meanwhile.json()["data"]]
    still_waiting = caller.is_alive()
    caller.join(10.0)
    assert meanwhile.status_code == 200 and not_yet == [], "the slow request is handled only after its delay"
    assert still_waiting, "the other request was answered while the slow one was still delayed"
    assert slow["response"].status_code == 201 and faulty.customers() == 1
    assert delay - 0.05 <= slow["elapsed"] < delay + 5.0


def test_latency_beyond_the_read_timeout_still_commits(faulty: Faulty) -> None:
    faulty.injector.script[CUSTOMERS] = HttpFault(LATENCY, delay_s=0.6)
    with pytest.raises(httpx.ReadTimeout):
        faulty.create_customer(timeout=0.2)
    deadline = time.monotonic() + 5.0
    while faulty.customers() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert faulty.customers() == 1, "the system did the work after the caller gave up"


def test_a_lost_response_commits_and_the_client_gets_a_transport_error(faulty: Faulty) -> None:
    faulty.injector.script[CUSTOMERS] = HttpFault(LOST_RESPONSE)
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.create_customer()
    assert faulty.customers() == 1
    assert faulty.injector.answered[-1] == ("erp", "POST", "/customers", 201), "the answer was told to the injector"


def test_a_reset_writes_nothing_and_the_client_gets_a_transport_error(faulty: Faulty) -> None:
    faulty.injector.script[CUSTOMERS] = HttpFault(CONNECTION_RESET)
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.create_customer()
    assert faulty.customers() == 0
    assert faulty.create_customer().status_code == 201, "the next request on a new connection goes through"


def test_a_timeout_holds_until_the_client_gives_up_and_writes_nothing(faulty: Faulty) -> None:
    faulty.injector.script[CUSTOMERS] = HttpFault(TIMEOUT)
    with pytest.raises(httpx.ReadTimeout):
        faulty.create_customer(timeout=0.3)
    assert faulty.customers() == 0


def test_a_timeout_drops_the_connection_after_its_hold(faulty: Faulty, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asgi, "TIMEOUT_HOLD_S", 0.3)
    faulty.injector.script[CUSTOMERS] = HttpFault(TIMEOUT)
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.create_customer(timeout=10.0)
    assert time.monotonic() - started >= 0.3 - 0.05
    assert faulty.customers() == 0


@pytest.mark.parametrize("committed", [True, False])
def test_a_kill_point_calls_back_once_without_the_lock_then_drops(faulty: Faulty, committed: bool) -> None:
    faulty.injector.script[CUSTOMERS] = HttpFault(PROCESS_KILLED, committed=committed)
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.create_customer()
    assert faulty.kills == [False]
    assert faulty.customers() == (1 if committed else 0)
    assert not any(answer[1:3] == CUSTOMERS for answer in faulty.injector.answered), \
        "a kill point's own answer is never asked about (as in process)"


def test_dying_after_an_answer_commits_calls_back_once_and_drops(faulty: Faulty) -> None:
    faulty.injector.dies.add(CUSTOMERS)
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.create_customer()
    assert faulty.kills == [False] and faulty.customers() == 1


def test_without_a_callback_a_kill_point_only_drops_the_connection(faulty: Faulty) -> None:
    faulty.server.app.on_connector_killed = None
    faulty.injector.script[CUSTOMERS] = HttpFault(PROCESS_KILLED, committed=False)
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.create_customer()
    assert faulty.kills == [] and faulty.customers() == 0


def test_only_the_systems_requests_meet_faults(faulty: Faulty) -> None:
    assert faulty.injector.asked == [("erp", "POST", "/oauth/token")], "a token request is asked about, as in process"
    assert faulty.http.get(faulty.server.base_url + asgi.HEALTH_PATH).status_code == 200
    assert faulty.http.get(faulty.server.base_url + "/nowhere/at/all").status_code == 404
    assert faulty.http.get(faulty.server.urls["erp"] + "/_c2c/state").status_code == 200
    assert faulty.injector.asked == [("erp", "POST", "/oauth/token")]
    faulty.api("erp", "GET", "/customers")
    assert faulty.injector.asked[-1] == ("erp", "GET", "/customers")
    assert faulty.injector.answered[-1] == ("erp", "GET", "/customers", 200)


def test_a_dropped_connection_leaves_no_error_in_the_servers_log(faulty: Faulty) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        faulty.injector.script[CUSTOMERS] = HttpFault(CONNECTION_RESET)
        with pytest.raises(httpx.RemoteProtocolError):
            faulty.create_customer()
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if r.levelno >= logging.ERROR], [r.getMessage() for r in records]
