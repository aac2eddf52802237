"""The reference connector as its own process: ``python -m reference_impl``.

This is the black-box contract's side of the reference connector, the shell
a vendor would write around their own code. Everything in it is I/O and
wall time; the connector inside is the same :class:`ReferenceConnector`
the harness runs in process.

The process reads its configuration from the environment (the black-box
contract):

- ``C2C_CRM_URL``, ``C2C_CLM_URL``, ``C2C_PSA_URL``, ``C2C_ERP_URL``: the
  systems' base URLs;
- ``C2C_CLIENT_ID``, ``C2C_CLIENT_SECRET``: OAuth2 client credentials,
  the same for every system;
- ``C2C_WEBHOOK_SECRET``: the Standard Webhooks secret;
- ``C2C_LISTEN``: ``host:port`` to serve on;
- ``C2C_STATE_DIR``: where its durable state lives (``reference.sqlite``);
- ``C2C_TIME_SCALE`` (optional, default 1): simulated seconds per wall
  second of the firm it serves; its periodic work and backoffs run that
  many times as often (:meth:`~reference_impl.cadence.Cadence.compressed`).

and serves ``POST /webhooks/{system}`` and ``GET /healthz`` (which names
the event types it subscribes to, so the others are not sent at all).

``python -m reference_impl package.module:build`` runs another factory
the same way (a variant of the reference, such as the deliberately broken
connectors the tests keep); every :class:`ReferenceConnector` in the
process gets the compressed cadence.

Guarantees:

- **Durable before 200.** A webhook is answered only after the connector
  has put the event in its inbox, and the inbox is a SQLite file whose
  every write is committed before it returns: a ``kill -9`` at any instant
  loses no accepted event, and a restart on the same ``C2C_STATE_DIR``
  picks up every pending entry.
- **One thing at a time.** Webhooks and scheduled work run one at a time
  under one lock, as the in-process harness runs them; ``GET /healthz``
  never waits for that lock.
- **Wall time.** The clock is the wall clock (webhook timestamps, token
  lifetimes and ``Retry-After`` are wall seconds). Business dates come from
  the systems' records, except the monthly reconciliation, which follows
  the wall calendar.
- **Bad configuration is one line.** A missing or malformed variable exits
  with status 2 and a message naming it, before anything is served.
"""

from __future__ import annotations

import asyncio
import heapq
import importlib
import itertools
import json
import logging
import os
import random
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reference_impl.cadence import PRODUCTION
from reference_impl.connector import ReferenceConnector
from reference_impl.http_transport import KeptAliveTransport

SYSTEMS = ("crm", "clm", "psa", "erp")
STATE_FILE = "reference.sqlite"
HTTP_TIMEOUT_S = 30.0

log = logging.getLogger("c2c.reference")


class ConfigurationError(Exception):
    """A variable of the black-box contract is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    urls: dict[str, str]
    client_id: str
    client_secret: str
    webhook_secret: str
    host: str
    port: int
    state_dir: Path
    time_scale: float = 1.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        def required(name: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"{name} is not set; the black-box contract requires it")
            return value

        urls = {system: required(f"C2C_{system.upper()}_URL").rstrip("/") for system in SYSTEMS}
        for system, url in urls.items():
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"C2C_{system.upper()}_URL must be an http(s) URL, got {url!r}")
        listen = required("C2C_LISTEN")
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(f"C2C_LISTEN must be host:port (e.g. 127.0.0.1:8800), got {listen!r}")
        raw_scale = environ.get("C2C_TIME_SCALE", "1").strip() or "1"
        try:
            time_scale = float(raw_scale)
        except ValueError:
            raise ConfigurationError(f"C2C_TIME_SCALE must be a number, got {raw_scale!r}") from None
        if not 0 < time_scale < float("inf"):
            raise ConfigurationError(f"C2C_TIME_SCALE must be a positive number, got {raw_scale!r}")
        secret = required("C2C_WEBHOOK_SECRET")
        if not secret.startswith("whsec_"):
            raise ConfigurationError("C2C_WEBHOOK_SECRET must be a Standard Webhooks secret (whsec_ + base64)")
        return cls(urls, required("C2C_CLIENT_ID"), required("C2C_CLIENT_SECRET"), secret, host, int(port),
                   Path(required("C2C_STATE_DIR")), time_scale)


class StateFile(MutableMapping[str, Any]):
    """The connector's durable storage: JSON values in one SQLite file, each write committed when it returns."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Committed to the WAL file before each write returns: that survives the process being killed (only a
        # power loss could lose the last commits, which a kill -9 is not).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")

    def __getitem__(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return json.loads(row[0])

    def __setitem__(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, json.dumps(value, separators=(",", ":"))))

    def __delitem__(self, key: str) -> None:
        if self._db.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([row[0] for row in self._db.execute("SELECT key FROM kv ORDER BY key")])

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM kv").fetchone()[0]

    def scan(self, prefix: str) -> Iterator[tuple[str, Any]]:
        rows = self._db.execute("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                                (prefix, prefix + "\U0010ffff")).fetchall()
        return ((key, json.loads(value)) for key, value in rows)

    def close(self) -> None:
        self._db.close()


class WallClock:
    @staticmethod
    def now() -> float:
        return time.time()


class WallScheduler:
    """Callbacks in wall time, each run under the connector's lock on one thread.

    A callback that raises is logged and the schedule goes on (an ``every``
    keeps repeating), as the harness's scheduler does.
    """

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._queue: list[tuple[float, int, Callable[[], Any], float | None]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="c2c-reference-scheduler", daemon=True)

    def call_later(self, delay_s: float, fn: Callable[[], Any]) -> None:
        self._push(time.monotonic() + max(0.0, delay_s), fn, None)

    def every(self, interval_s: float, fn: Callable[[], Any]) -> None:
        self._push(time.monotonic() + interval_s, fn, interval_s)

    def _push(self, due: float, fn: Callable[[], Any], interval: float | None) -> None:
        with self._wake:
            heapq.heappush(self._queue, (due, next(self._order), fn, interval))
            self._wake.notify()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=HTTP_TIMEOUT_S)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._wake.wait(timeout=self._queue[0][0] - time.monotonic() if self._queue else None)
                if self._stopped:
                    return
                due, _, fn, interval = heapq.heappop(self._queue)
                if interval is not None:
                    heapq.heappush(self._queue, (max(due + interval, time.monotonic()), next(self._order), fn,
                                                 interval))
            with self._lock:
                try:
                    fn()
                except Exception:
                    log.exception("scheduled %s failed", getattr(fn, "__qualname__", fn))


class SetCookieIgnored(httpx.Cookies):
    """A cookie jar that takes nothing from an answer: the systems set no cookies, and httpx's looking (it builds a
    urllib request and response for the standard library's jar to read) cost more than anything else it does
    with an answer."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class SystemsHttp(httpx.Client):
    """httpx's client whose cookie jar is a :class:`SetCookieIgnored`: what the connector sets is still sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = self._cookies  # httpx made a plain jar

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._cookies = SetCookieIgnored(cookies)


@dataclass(frozen=True)
class Runtime:
    """What the harness would lend the connector in process, made from the environment."""

    http: httpx.Client
    urls: dict[str, str]
    credentials: dict[str, tuple[str, str]]
    webhook_secret: str
    clock: WallClock
    scheduler: WallScheduler
    storage: StateFile
    rng: random.Random = field(default_factory=random.Random)
    log: logging.Logger = log


@dataclass(frozen=True)
class WebhookDelivery:
    system: str
    headers: dict[str, str]
    body: bytes


class ConnectorProcess:
    """The connector, its scheduler and its storage, and the ASGI app that serves its webhooks."""

    def __init__(self, settings: Settings, factory: Callable[[Runtime], Any] | None = None) -> None:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.lock = threading.Lock()
        self.storage = StateFile(settings.state_dir / STATE_FILE)
        self.http = SystemsHttp(timeout=HTTP_TIMEOUT_S, transport=KeptAliveTransport())  # http.client underneath
        self.scheduler = WallScheduler(self.lock)
        runtime = Runtime(self.http, settings.urls,
                          {system: (settings.client_id, settings.client_secret) for system in settings.urls},
                          settings.webhook_secret, WallClock(), self.scheduler, self.storage)

        ReferenceConnector.cadence = PRODUCTION.compressed(settings.time_scale)  # this process's, for good
        with self.lock:
            self.connector = (factory or ReferenceConnector)(runtime)
        self.scheduler.start()

    def receive(self, system: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            try:
                return self.connector.receive(WebhookDelivery(system, headers, body))
            except Exception:
                log.exception("webhook from %s failed", system)
                return 500

    def close(self) -> None:
        self.scheduler.stop()
        with self.lock:
            self.connector.close()
            self.http.close()
            self.storage.close()

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any],
                       send: Callable[[dict[str, Any]], Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        status, answer = await self._answer(scope, b"".join(chunks))
        empty = status in (204, 304)  # no body, by definition (RFC 9110 §15.3.5)
        content = b"" if empty else json.dumps(answer).encode()
        # Its length stated, the answer goes out as it is, not chunked with a terminating chunk.
        await send({"type": "http.response.start", "status": status,
                    "headers": [] if empty else [(b"content-type", b"application/json"),
                                                 (b"content-length", b"%d" % len(content))]})
        await send({"type": "http.response.body", "body": content})

    async def _answer(self, scope: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        method, path = scope["method"], scope["path"]
        if path == "/healthz" and method == "GET":
            health: dict[str, Any] = {"status": "ok",
                                      "connector": getattr(self.connector, "name", type(self.connector).__name__)}
            wanted = getattr(self.connector, "subscriptions", None)
            if wanted is not None:  # the event types to be sent; the others are not posted at all
                health["subscriptions"] = sorted(wanted)
            return 200, health
        prefix, _, system = path.rpartition("/")
        if prefix != "/webhooks" or system not in SYSTEMS:
            return 404, {"detail": f"nothing at {path}; webhooks go to POST /webhooks/{{{'|'.join(SYSTEMS)}}}"}
        if method != "POST":
            return 405, {"detail": f"{method} is not allowed on {path}; POST only"}
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        status = await asyncio.to_thread(self.receive, system, headers, body)
        return status, {"status": status}


def load_factory(name: str) -> Callable[[Runtime], Any]:
    module_name, _, attribute = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute, None) if attribute else None
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from None
    if not callable(factory):
        raise ConfigurationError(f"{name!r} does not name a connector factory (package.module:build)")
    return factory


def main(environ: Mapping[str, str] | None = None, argv: list[str] | None = None) -> None:
    """Serve the reference connector (or the factory named in ``argv``) until SIGTERM or SIGINT; exit 2 on bad
    configuration."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) > 1:
            raise ConfigurationError(f"expected at most one argument, a factory package.module:build; got {args}")
        factory = load_factory(args[0]) if args else None
        settings = Settings.from_environ(os.environ if environ is None else environ)
    except ConfigurationError as exc:
        print(f"reference connector: {exc}", file=sys.stderr)
        sys.exit(2)
    process = ConnectorProcess(settings, factory)
    log.info("reference connector on %s:%d (time scale %g, state in %s)", settings.host, settings.port,
             settings.time_scale, settings.state_dir)
    try:
        uvicorn.run(process, host=settings.host, port=settings.port, log_level="warning", lifespan="on")
    finally:
        process.close()
