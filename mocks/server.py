"""ASGI applications served by uvicorn on loopback, from a background thread of the calling process.

:class:`LoopbackServer` starts a real HTTP server (uvicorn, one event loop
in its own thread) for any ASGI application and returns once it accepts
connections; it is a context manager: leaving it stops the server and joins
the thread. It serves loopback clients directly: no proxy's ``X-Forwarded-*``
headers are read. :class:`SystemsServer` serves a
:class:`~mocks.core.asgi.SystemsApp`, and :attr:`SystemsServer.urls` gives
each system's base URL (``http://127.0.0.1:PORT/erp``).

Stopping waits up to :data:`SHUTDOWN_GRACE_S` for requests in flight (a
request an HTTP fault holds or slows, for instance), then cancels them:
the connection is closed and a held request is not handled.

Importing this module creates, in the importing thread, every logger a
served run's threads would otherwise create (:func:`register_loggers`):
no server or client thread then adds one to logging's registry while
another thread walks it. pytest walks it, without logging's lock, at each
test's setup, to attach its log capture; a conformance session runs served
runs in background threads meanwhile, and one certification failed a
requirement there with ``RuntimeError: dictionary changed size during
iteration``.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Any, Self

import uvicorn

from mocks.core.asgi import SystemsApp

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_GRACE_S = 2.0
# What a served run logs to from its threads: uvicorn's loggers (its config sets their levels, its HTTP protocol
# takes the access logger), and httpcore's, created when httpx first opens a connection (a health check, a
# webhook poster); the modules that create loggers as they are imported.
SERVED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
LOGGING_MODULES = ("httpcore", "uvicorn.protocols.http.h11_impl", "uvicorn.lifespan.off", "uvicorn.loops.asyncio")


def register_loggers() -> None:
    """Create every logger a served run's server and client threads use, here, in the calling thread."""
    for name in LOGGING_MODULES:
        importlib.import_module(name)
    for name in SERVED_LOGGERS:
        logging.getLogger(name)


register_loggers()


class ServerError(RuntimeError):
    """The server did not start (the port is taken, or it failed while starting)."""


class LoopbackServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                     lifespan="off", access_log=False, proxy_headers=False,
                                                     timeout_graceful_shutdown=SHUTDOWN_GRACE_S))
        self._thread = threading.Thread(target=self._server.run, name="c2c-loopback-server", daemon=True)
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise ServerError(f"the server on {self.host}:{self.port} stopped while starting (is the port taken?)")
            if time.monotonic() > deadline:
                raise ServerError(f"the server on {self.host}:{self.port} did not start within "
                                  f"{STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SystemsServer(LoopbackServer):
    """The mock systems on loopback."""

    app: SystemsApp

    def __init__(self, app: SystemsApp, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(app, host, port)

    @property
    def urls(self) -> dict[str, str]:
        """Each served system's base URL."""
        return {name: f"{self.base_url}/{name}" for name in self.app.services}
