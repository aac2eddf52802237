"""``python -m reference_impl``: the reference connector as its own process (the black-box contract).

The process reads the contract's variables and refuses bad ones in one line
(exit 2) before serving; it answers ``GET /healthz``; a webhook it answers
2xx is in its SQLite state file at that instant, so a ``kill -9`` right
after the answer loses nothing; a forged one gets 401. Its cadence follows
``C2C_TIME_SCALE``. A whole run against served systems is in
``tests/test_black_box.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reference_impl.cadence import PRODUCTION
from reference_impl.service import STATE_FILE, ConfigurationError, Settings
from simulator.blackbox import free_port

SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes....").decode()


def _environ(tmp_path: Path, port: int = 8800, **changes: str) -> dict[str, str]:
    environ = {f"C2C_{s.upper()}_URL": f"http://127.0.0.1:9/{s}" for s in ("crm", "clm", "psa", "erp")}
    environ |= {"C2C_CLIENT_ID": "vendor", "C2C_CLIENT_SECRET": "s3cret", "C2C_WEBHOOK_SECRET": SECRET,
                "C2C_LISTEN": f"127.0.0.1:{port}", "C2C_STATE_DIR": str(tmp_path / "state"),
                "C2C_TIME_SCALE": "3600"}
    environ |= changes
    return {name: value for name, value in environ.items() if value != "<unset>"}


def test_settings_come_from_the_contracts_variables(tmp_path: Path) -> None:
    settings = Settings.from_environ(_environ(tmp_path))
    assert settings.urls["erp"] == "http://127.0.0.1:9/erp"
    assert (settings.host, settings.port, settings.time_scale) == ("127.0.0.1", 8800, 3600.0)
    assert settings.state_dir == tmp_path / "state"


@pytest.mark.parametrize(("name", "value", "says"), [
    ("C2C_ERP_URL", "<unset>", "C2C_ERP_URL is not set"),
    ("C2C_CRM_URL", "crm.example", "C2C_CRM_URL must be an http(s) URL"),
    ("C2C_LISTEN", "8800", "C2C_LISTEN must be host:port"),
    ("C2C_LISTEN", "127.0.0.1:99999", "C2C_LISTEN must be host:port"),
    ("C2C_TIME_SCALE", "fast", "C2C_TIME_SCALE must be a number"),
    ("C2C_TIME_SCALE", "-2", "C2C_TIME_SCALE must be a positive number"),
    ("C2C_WEBHOOK_SECRET", "hunter2", "C2C_WEBHOOK_SECRET must be a Standard Webhooks secret"),
    ("C2C_STATE_DIR", "", "C2C_STATE_DIR is not set"),
])
def test_a_bad_variable_is_named(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        Settings.from_environ(_environ(tmp_path, **{name: value}))


def test_the_process_refuses_bad_configuration_in_one_line(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("C2C_")}
    done = subprocess.run([sys.executable, "-m", "reference_impl"], env={**environ, **_environ(tmp_path,
                          C2C_LISTEN="nowhere")}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "reference connector: C2C_LISTEN must be host:port (e.g. 127.0.0.1:8800), got 'nowhere'"]


def test_the_cadence_follows_the_time_scale() -> None:
    fast = PRODUCTION.compressed(3600)
    assert fast.feed_poll_s == 4.0 and fast.drain_s == 1.0 and fast.base_backoff_s == 30 / 3600
    with pytest.raises(ValueError, match="positive"):
        PRODUCTION.compressed(0)


def _signed(event_id: str, body: bytes, at: int | None = None) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{event_id}.{at}.".encode() + body, hashlib.sha256).digest())
    return {"webhook-id": event_id, "webhook-timestamp": str(at), "webhook-signature": "v1," + signature.decode(),
            "content-type": "application/json"}


def test_an_accepted_webhook_is_durable_when_answered_and_a_forged_one_is_refused(tmp_path: Path) -> None:
    """The systems are unreachable here (port 9), so the work fails and stays in the inbox: what matters is that
    the 200 comes after the entry is on disk, and a SIGKILL right after the answer keeps it."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("C2C_")} | _environ(tmp_path, port)
    process = subprocess.Popen([sys.executable, "-m", "reference_impl"], env=environ, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the reference connector did not become healthy"
                time.sleep(0.05)
        body = json.dumps({"id": "evt_1", "type": "crm.account.created", "source": "crm", "subject": "acc_1",
                           "time": "2026-01-05T09:00:00Z", "data": {"id": "acc_1", "version": 1, "cursor": 1}}
                          ).encode()
        forged = {**_signed("evt_1", body), "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
        assert httpx.post(f"{url}/webhooks/crm", content=body, headers=forged).status_code == 401
        stale = _signed("evt_1", body, at=int(time.time()) - 3600)
        assert httpx.post(f"{url}/webhooks/crm", content=body, headers=stale).status_code == 401
        assert httpx.post(f"{url}/webhooks/crm", content=body, headers=_signed("evt_1", body),
                          timeout=60).status_code == 200
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        with sqlite3.connect(tmp_path / "state" / STATE_FILE) as db:
            keys = {row[0] for row in db.execute("SELECT key FROM kv")}
        assert {"seen:evt_1", "inbox:evt_1"} <= keys
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_the_process_client_takes_no_cookies_from_answers_and_sends_its_own() -> None:
    from reference_impl.service import SystemsHttp

    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, json={})

    with SystemsHttp(transport=httpx.MockTransport(answer), cookies={"mine": "1"}) as client:
        client.get("http://systems.test/psa/timesheets")
        client.get("http://systems.test/psa/timesheets")
        assert dict(client.cookies) == {"mine": "1"}
    assert sent == ["mine=1", "mine=1"]
