"""Shared fixtures: fresh mock systems on a fixed clock, an authenticated
httpx client per system, the baseline scenario, and simulation runs
memoised per test process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from mocks.core.asgi import SystemsApp
from mocks.core.clock import FixedClock
from mocks.core.transport import InProcessTransport
from mocks.server import SystemsServer
from mocks.systems import Systems, build_systems
from simulator.run import SimulationResult, simulate
from simulator.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
TAX_RATES = {"US-NY": Decimal("0.08875"), "GB": Decimal("0.20"), "JP": Decimal("0.10")}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def systems(clock: FixedClock) -> Systems:
    systems = build_systems(clock, TAX_RATES, seed=7)
    systems.erp.add_legal_entity("US01", "c2c US", "USD", "US01")
    systems.erp.add_legal_entity("UK01", "c2c UK", "GBP", "UK01")
    return systems


class Api:
    """An httpx client per system, authenticated through the OAuth2 token endpoint."""

    def __init__(self, http: httpx.Client, urls: dict[str, str], systems: Systems) -> None:
        self.http = http
        self.urls = urls
        self.credentials = systems.credentials
        self._tokens: dict[str, str] = {}

    def token(self, system: str) -> str:
        if system not in self._tokens:
            response = self.http.post(self.urls[system] + "/oauth/token", data={
                "grant_type": "client_credentials", "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret})
            assert response.status_code == 200, response.text
            self._tokens[system] = response.json()["access_token"]
        return self._tokens[system]

    def __call__(self, system: str, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token(system)}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.urls[system] + path, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def http_server() -> Iterator[SystemsServer]:
    """A real uvicorn server on loopback (one per test process); each test puts its own systems behind it."""
    with SystemsServer(SystemsApp({})) as server:
        yield server


@pytest.fixture(params=["in-process", "http"])
def api(request: pytest.FixtureRequest, systems: Systems) -> Iterator[Api]:
    """The systems' APIs through both transports: in-process, and real HTTP to uvicorn. Same answers expected."""
    if request.param == "in-process":
        yield Api(httpx.Client(transport=InProcessTransport(systems.services_by_host)), systems.urls, systems)
        return
    server: SystemsServer = request.getfixturevalue("http_server")
    server.app.services = systems.services
    with httpx.Client() as http:
        yield Api(http, server.urls, systems)
    server.app.services = {}


@pytest.fixture(scope="session")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.yaml")


@pytest.fixture(scope="session")
def simulation() -> Callable[..., SimulationResult]:
    """``simulation(scenario, seed, factory=None)``: one run per (scenario, seed, connector) per test process.

    Runs are deterministic, so modules that need the same run share it instead of paying for it again.
    The result is shared: a test reads it and never changes it.
    """
    runs: dict[tuple[str, int, object], SimulationResult] = {}

    def run(scenario: Scenario, seed: int, factory: Callable | None = None) -> SimulationResult:
        key = (scenario.model_dump_json(), seed, factory)
        if key not in runs:
            runs[key] = simulate(scenario, seed=seed, factory=factory)
        return runs[key]

    return run
