"""Served mode: ``c2c serve`` runs the firm in real time with its systems on real HTTP (uvicorn).

What a client of the served systems sees, from another process: the URLs
and credentials, a health endpoint, the firm's records appearing as the
simulated calendar runs, tokens that last in wall seconds however fast
the calendar goes, and at the end a reconciled ERP.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import simpy
from standardwebhooks.webhooks import Webhook

from mocks.server import LoopbackServer
from simulator.served import ServedEnvironment
from tests.asgi_body import whole_body
from tests.conftest import ROOT

SMALL_FIRM = ROOT / "conformance" / "scenarios" / "small_firm.yaml"
SPEED = 864_000  # ten simulated days per wall second: the small firm's run takes about four seconds


def _served(scenario: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", str(scenario), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _announced(process: subprocess.Popen) -> dict[str, str]:
    """The URLs and credentials ``c2c serve`` prints once its server answers."""
    seen: dict[str, str] = {}
    for line in process.stdout:
        if match := re.match(r"\s+(\w+)\s+(http://\S+)$", line):
            seen[match[1]] = match[2]
        if match := re.match(r"\s+client_id (\S+) · client_secret (\S+) · webhook secret (\S+)", line):
            seen["client_id"], seen["client_secret"], seen["webhook_secret"] = match[1], match[2], match[3]
            return seen
    raise AssertionError("c2c serve ended before announcing its URLs: " + process.stderr.read())


def _token(urls: dict[str, str], system: str) -> str:
    response = httpx.post(urls[system] + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": urls["client_id"], "client_secret": urls["client_secret"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_a_served_run_answers_over_http_while_the_firm_works_and_reconciles() -> None:
    process = _served(SMALL_FIRM, "--speed", str(SPEED), "--port", "0")
    try:
        urls = _announced(process)
        assert set(urls) >= {"crm", "clm", "psa", "erp", "health"}
        assert httpx.get(urls["health"]).json()["status"] == "ok"
        token = _token(urls, "psa")
        counts = []  # the firm's records appear as the calendar runs; the token outlives simulated weeks
        deadline = time.monotonic() + 90
        while process.poll() is None and time.monotonic() < deadline:
            try:
                response = httpx.get(urls["psa"] + "/timesheets", params={"limit": "500"},
                                     headers={"authorization": f"Bearer {token}"})
            except httpx.TransportError:  # the run ended and its server stopped between two looks
                break
            assert response.status_code == 200, response.text
            counts.append(len(response.json()["data"]))
            seen = [count for count in counts if count]
            if len(seen) >= 2 and seen[-1] > seen[0]:
                break
            time.sleep(0.1)
        seen = [count for count in counts if count]
        assert len(seen) >= 2 and seen[-1] > seen[0], counts
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, out + err
    assert re.search(r"reconciliation 0 mismatches of \d+ items checked", out), out


def test_out_writes_the_run_s_trace_kpis_and_mismatches_as_simulate_does(tmp_path: Path) -> None:
    """A vendor reproducing a black-box failure with ``c2c serve`` gets what ``c2c simulate`` writes to debug with."""
    out_dir = tmp_path / "served"
    process = _served(SMALL_FIRM, "--speed", str(SPEED), "--port", "0", "--out", str(out_dir))
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, out + err
    assert f"wrote {out_dir}/kpis.json, events.jsonl, run.json, mismatches.jsonl" in out
    kpis = json.loads((out_dir / "kpis.json").read_text())
    assert kpis["reconciliation"]["mismatches"] == 0 and kpis["reconciliation"]["items_checked"] > 0
    records = [json.loads(line) for line in (out_dir / "events.jsonl").read_text().splitlines()]
    assert {"webhook", "api"} <= {record["kind"] for record in records}
    run = json.loads((out_dir / "run.json").read_text())
    assert run["command"][0].startswith("c2c serve ") and "--out" in run["command"][0]
    assert (out_dir / "mismatches.jsonl").read_text() == ""


def test_bad_input_is_one_line() -> None:
    missing = _served(ROOT / "no-such-scenario.yaml")
    _, err = missing.communicate(timeout=60)
    assert missing.returncode == 2 and "no-such-scenario.yaml" in err and "Traceback" not in err
    with socket_in_use() as port:
        taken = _served(SMALL_FIRM, "--port", str(port))
        _, err = taken.communicate(timeout=60)
    assert taken.returncode == 2 and f"cannot serve on 127.0.0.1:{port}" in err and "Traceback" not in err, err
    a_file = ROOT / "README.md"
    unwritable = _served(SMALL_FIRM, "--port", "0", "--out", str(a_file))
    _, err = unwritable.communicate(timeout=60)
    assert unwritable.returncode == 2 and "--out" in err and "Traceback" not in err, err


class socket_in_use:
    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_the_served_environment_keeps_to_the_wall_clock_and_steps_under_the_lock() -> None:
    lock = threading.Lock()
    env = ServedEnvironment(speed=100.0, lock=lock)
    held = []

    def firm(env: simpy.Environment):
        for _ in range(3):
            yield env.timeout(10)  # a tenth of a wall second each
            held.append(lock.locked())

    env.process(firm(env))
    started = time.monotonic()
    env.run()
    assert time.monotonic() - started >= 0.3 - 0.01
    assert held == [True, True, True]


@pytest.mark.parametrize("speed", ["0", "-5", "fast"])
def test_a_speed_that_is_not_a_positive_number_is_refused(speed: str) -> None:
    process = _served(SMALL_FIRM, "--speed", speed)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "--speed" in err and "Traceback" not in err


class Receiver:
    """A stand-in connector on a real socket: records every webhook, answers 500 to an event's first attempt."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.failed_once: set[str] = set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = await whole_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((scope["path"], headers, body))
        status = 204
        if headers.get("webhook-id") not in self.failed_once:
            self.failed_once.add(headers.get("webhook-id"))
            status = 500
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_webhooks_reach_an_external_connector_signed_with_wall_time_and_retried() -> None:
    receiver = Receiver()
    with LoopbackServer(receiver) as server:
        process = _served(SMALL_FIRM, "--speed", str(SPEED), "--port", "0", "--connector-url", server.base_url)
        announced = _announced(process)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err  # nothing wrote the ERP: the oracle says so
    secret = announced["webhook_secret"]
    assert receiver.received
    paths = {path for path, _, _ in receiver.received}
    assert paths >= {"/webhooks/crm", "/webhooks/clm", "/webhooks/psa"}, paths
    verifier = Webhook(secret)  # Standard Webhooks: signature, and a timestamp within 5 minutes of this clock
    for _, headers, body in receiver.received:
        verifier.verify(body, headers)
    attempts: dict[str, int] = {}
    for _, headers, _ in receiver.received:
        attempts[headers["webhook-id"]] = attempts.get(headers["webhook-id"], 0) + 1
    assert set(attempts.values()) == {2}, "each event: one refused attempt, then the retry"
