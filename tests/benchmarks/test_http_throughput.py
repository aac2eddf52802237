"""P3 (performance target): each mock's GET and POST over HTTP reach at least half the throughput of a bare endpoint.

The yardstick is a bare Starlette application (one GET and one POST route
answering small JSON, :mod:`tests.benchmarks.throughput_apps`). It and the
four mock systems are each served by uvicorn in a process of their own,
started by the same command line (one worker, the same loop, HTTP
implementation and logging), and driven by the same load generator: locust,
headless, as a subprocess, with ``loadtests/throughput.py`` (every user
repeats one request with no wait, over a kept-alive connection; tokens are
fetched once, before, and not counted). Per system, a read by id and a
cheap valid create:

- crm: ``GET /crm/accounts/{id}``, ``POST /crm/accounts``;
- clm: ``GET /clm/contracts/{id}``, ``POST /clm/contracts`` (a T&M draft);
- psa: ``GET /psa/projects/{id}``, ``POST /psa/projects`` (a new
  ``contract_ref`` each time: one project per contract);
- erp: ``GET /erp/customers/{id}``, ``POST /erp/customers``.

Two figures per endpoint, both compared with the bare endpoint of the same
method in the same run:

- **requests per second**, as the generator saw them (answers over the
  time from the first to the last);
- **requests per CPU-second of the server process** (read from
  ``/proc/PID/stat``): what one uvicorn worker answers per second on a core
  of its own. On a machine whose two cores are shared with the generator
  and with other work, wall-clock rates swing with whatever else runs; the
  server's own CPU time per request swings far less, so P3 is asserted
  on it.

Each mock run is paired with a run of the bare endpoint of the same method
made just before it, and judged against that run only: a pair is about five
seconds apart. A shared machine's speed swings by up to twice within a
minute (in one CI run the bare POST answered 2,600, 2,400 and 4,100
requests per server CPU-second in three rounds), so a mock compared with the
bare endpoint's best run of the whole test is judged against whatever moment
was quietest, not against the machine it ran on. Three rounds, each pairing
every mock endpoint once (each round starting two endpoints further on, so
no endpoint always runs first or last); an endpoint's ratio is the median of
its three pairs' ratios, so one pair caught across a swing neither fails
nor passes it. Every answer must have the expected status (200 for a read,
201 for a create): one failure fails the test.

Why the assertion is not on wall-clock requests per second: locust spends
as much CPU per request as the server, or more, so on two cores the
generator saturates near the bare endpoint's rate, and a ratio of
wall-clock rates compares the generator with itself as much as the
servers; under other work the wall-clock ratios of one run spread from
0.2 to 1.4. Both figures are recorded (``extra_info``), with the
generator's CPU per request.

Measured on the 2-core reference machine: quiet, the median pair ratios
were 0.79 (clm POST) to 1.06 (crm GET), 118 s in all; with three CPU-bound
processes beside it, 0.74 (clm POST) to 0.96, 144 s. There the bare
endpoint's runs gave 2,750-4,600 requests per server CPU-second; single
pairs ranged 0.58-1.49. Locust spends 170 us or more of CPU per request (up
to 2.7 ms when starved), the servers 120-470 us.

Linux only (``/proc``).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.benchmarks import throughput_apps
from tests.conftest import ROOT

pytestmark = [pytest.mark.benchmark_suite,
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads server CPU time from /proc")]

MIN_RATIO = 0.5
USERS = 16  # concurrent connections: enough to keep one worker busy
SECONDS = 2  # per run
ROUNDS = 3  # pairs per mock endpoint; the median ratio counts
LOCUSTFILE = ROOT / "loadtests" / "throughput.py"
STARTUP_TIMEOUT_S = 30.0

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
ACCOUNT = {"legal_name": "Acme {n} Inc.", "billing_country": "US", "currency": "USD", "tax_id": "12-{n}",
           "tax_jurisdiction": "US-NY", "billing_address": ADDRESS}
CONTRACT = {"account_id": "acc_000001", "legal_entity": "US01", "currency": "USD", "billing_type": "time_and_materials",
            "title": "Engagement {n}", "start_date": "2026-01-01", "end_date": "2026-06-30",
            "rate_card": [{"role": "consultant", "rate": 15000, "effective_from": "2026-01-01"}]}
PROJECT = {"contract_ref": "ctr_{n}", "name": "Project {n}", "start_date": "2026-01-01", "end_date": "2026-06-30",
           "tasks": [{"name": "Delivery"}]}
CUSTOMER = {"external_ref": "acc_{n}", "name": "Acme {n}", "legal_name": "Acme {n} Inc.", "tax_id": "12-{n}",
            "tax_jurisdiction": "US-NY", "currency": "USD", "billing_address": ADDRESS}
_runs = itertools.count(1)
# system -> (collection path, a create's body: "{n}" is a number unique to the request)
CREATES = {"crm": ("/accounts", ACCOUNT), "clm": ("/contracts", CONTRACT), "psa": ("/projects", PROJECT),
           "erp": ("/customers", CUSTOMER)}


@dataclass(frozen=True)
class Endpoint:
    """One request the generator repeats: ``{n}`` in ``body`` becomes a number unique to each request."""

    label: str
    method: str
    path: str
    body: str | None = None
    token: str | None = None

    @property
    def expect(self) -> int:
        return 201 if self.method == "POST" else 200


@dataclass(frozen=True)
class Measure:
    requests: int
    failures: int
    wall_seconds: float  # from the first request to the last
    server_cpu_seconds: float
    generator_cpu_seconds: float  # locust's, start-up included

    @property
    def per_second(self) -> float:
        return self.requests / self.wall_seconds

    @property
    def per_cpu_second(self) -> float:
        return self.requests / self.server_cpu_seconds


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15 of stat(5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(factory: str, probe: str) -> Iterator[Server]:
    """``factory`` (``module:function``) served by uvicorn in a process of its own, once ``probe`` answers."""
    port = _free_port()
    with tempfile.TemporaryFile("w+") as log:  # not a pipe: a server that logs a lot must never block on it
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--log-level", "warning", "--no-access-log", "--lifespan", "off"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", process)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{factory} did not start: {log.read()[-2000:]}")
                try:
                    if httpx.get(server.url + probe, timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{factory} did not answer {probe} within {STARTUP_TIMEOUT_S:.0f} s")
                time.sleep(0.05)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def drive(server: Server, endpoint: Endpoint) -> Measure:
    """``endpoint`` repeated by :data:`USERS` locust users for :data:`SECONDS` seconds."""
    env = {**os.environ, "C2C_METHOD": endpoint.method, "C2C_PATH": endpoint.path, "C2C_EXPECT": str(endpoint.expect)}
    # Each run numbers its requests from 1: a prefix of its own keeps every create unique across runs.
    body = endpoint.body.replace("{n}", f"{next(_runs)}.{{n}}") if endpoint.body is not None else None
    for name, value in (("C2C_BODY", body), ("C2C_TOKEN", endpoint.token)):
        if value is not None:
            env[name] = value
        else:
            env.pop(name, None)
    before, generator_before = server.cpu_seconds(), _children_cpu_seconds()
    run = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", server.url,
         "-u", str(USERS), "-r", "100", "-t", f"{SECONDS}s", "--only-summary", "--json", "--skip-log",
         "--exit-code-on-error", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=SECONDS + 60)
    cpu, generator_cpu = server.cpu_seconds() - before, _children_cpu_seconds() - generator_before
    assert run.returncode == 0, f"locust failed on {endpoint.label}: {run.stderr[-2000:]}"
    stats = {entry["name"]: entry for entry in json.loads(run.stdout)}
    entry = stats.get(f"{endpoint.method} {endpoint.path}")
    assert entry and entry["num_requests"], f"locust sent no {endpoint.label} request: {run.stdout[-2000:]}"
    return Measure(entry["num_requests"], entry["num_failures"],
                   entry["last_request_timestamp"] - entry["start_time"], cpu, generator_cpu)


def _children_cpu_seconds() -> float:
    """CPU time of this process's finished children (the servers are still running: only locust counts)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mock_endpoints(url: str) -> list[Endpoint]:
    """Per system, a read of an entity created here and a create; tokens fetched once."""
    credentials = throughput_apps.systems().credentials
    endpoints = []
    with httpx.Client(base_url=url) as http:
        for system, (collection, body) in CREATES.items():
            token = http.post(f"/{system}/oauth/token", data={
                "grant_type": "client_credentials", "client_id": credentials.client_id,
                "client_secret": credentials.client_secret}).json()["access_token"]
            payload = json.dumps(body)
            created = http.post(f"/{system}{collection}", content=payload.replace("{n}", "0"),
                                headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
            assert created.status_code == 201, created.text
            endpoints.append(Endpoint(f"{system} GET", "GET", f"/{system}{collection}/{created.json()['id']}",
                                      token=token))
            endpoints.append(Endpoint(f"{system} POST", "POST", f"/{system}{collection}", payload, token))
    return endpoints


BARE = {"GET": Endpoint("bare GET", "GET", "/items/itm_000001"),
        "POST": Endpoint("bare POST", "POST", "/items", json.dumps({"name": "Item {n}"}))}


@dataclass(frozen=True)
class Pair:
    """A mock endpoint's run and the bare endpoint's run of the same method made just before it."""

    bare: Measure
    mock: Measure

    def ratio(self, figure: str) -> float:
        return getattr(self.mock, figure) / getattr(self.bare, figure)


def measure_all() -> dict[str, list[Pair]]:
    """Every mock endpoint's :data:`ROUNDS` pairs: a round pairs every mock endpoint once, each round starting two
    endpoints further on, so no endpoint always runs first or last."""
    pairs: dict[str, list[Pair]] = {}
    with served("tests.benchmarks.throughput_apps:bare_app", "/items/probe") as bare, \
            served("tests.benchmarks.throughput_apps:mock_systems_app", "/healthz") as mocks:
        endpoints = mock_endpoints(mocks.url)
        for round_ in range(ROUNDS):
            for endpoint in endpoints[2 * round_:] + endpoints[:2 * round_]:
                yardstick = drive(bare, BARE[endpoint.method])
                pairs.setdefault(endpoint.label, []).append(Pair(yardstick, drive(mocks, endpoint)))
    return pairs


def median_ratio(pairs: list[Pair], figure: str) -> float:
    """The median of the pairs' ratios by ``figure``: each pair's two runs saw the machine at much the same speed,
    and one pair caught across a swing of the machine's speed neither fails nor passes the endpoint."""
    return statistics.median(pair.ratio(figure) for pair in pairs)


def test_mock_endpoints_reach_half_a_bare_endpoint(benchmark) -> None:
    results: list[dict[str, list[Pair]]] = []
    benchmark.pedantic(lambda: results.append(measure_all()), rounds=1, iterations=1)
    pairs = results[-1]

    table: dict[str, dict] = {}
    for label, measured in pairs.items():
        mocks, bares = [pair.mock for pair in measured], [pair.bare for pair in measured]
        table[label] = {
            "requests": sum(m.requests for m in mocks), "failures": sum(m.failures for m in mocks + bares),
            "per_second": [round(m.per_second) for m in mocks],
            "per_cpu_second": [round(m.per_cpu_second) for m in mocks],
            "bare_per_cpu_second": [round(m.per_cpu_second) for m in bares],
            "generator_cpu_us_per_request": [round(m.generator_cpu_seconds / m.requests * 1e6) for m in mocks],
            "pair_ratios_per_cpu_second": [round(pair.ratio("per_cpu_second"), 2) for pair in measured],
            "ratio_per_second": round(median_ratio(measured, "per_second"), 2),
            "ratio_per_cpu_second": round(median_ratio(measured, "per_cpu_second"), 2)}
    benchmark.extra_info.update({"users": USERS, "seconds": SECONDS, "rounds": ROUNDS, "min_ratio": MIN_RATIO,
                                 "endpoints": table})
    print(json.dumps(table, indent=1))
    failed = {label: row["failures"] for label, row in table.items() if row["failures"]}
    assert not failed, f"answers other than the expected status: {failed}"
    misses = [label for label, row in table.items() if row["ratio_per_cpu_second"] < MIN_RATIO]
    assert not misses, f"below {MIN_RATIO}x the bare endpoint's requests per server CPU-second: " + \
        ", ".join(f"{label} {table[label]['ratio_per_cpu_second']}x" for label in misses)
