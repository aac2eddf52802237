"""The two ASGI applications the P3 benchmark compares, each served alone by uvicorn in a process of its own.

- :func:`bare_app`: the yardstick, a Starlette application with one GET and
  one POST route, each answering a small JSON object (the POST reads and
  parses its JSON body first, as any create does);
- :func:`mock_systems_app`: the four mock systems as ``c2c serve`` serves
  them (:class:`~mocks.core.asgi.SystemsApp` over
  :func:`~mocks.systems.build_systems`, each system under ``/{name}``), on
  a fixed clock, with the legal entities a create needs and the OAuth2
  credentials of :data:`SEED`.

Both are application factories for ``uvicorn --factory``, so the benchmark
starts them with the same command line: the same server settings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mocks.core.asgi import SystemsApp
from mocks.core.clock import FixedClock
from mocks.systems import Systems, build_systems

SEED = 3
TAX_RATES = {"US-NY": Decimal("0.08875"), "GB": Decimal("0.20")}


def systems() -> Systems:
    """Fresh systems, the same on every call (the credentials derive from :data:`SEED`)."""
    built = build_systems(FixedClock(), TAX_RATES, seed=SEED)
    built.erp.add_legal_entity("US01", "c2c US", "USD", "US01")
    return built


def mock_systems_app() -> SystemsApp:
    return SystemsApp(systems().services)


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def read(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["id"], "status": "active", "version": 1})

    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"id": "itm_000001", "name": body.get("name"), "version": 1}, status_code=201)

    return Starlette(routes=[Route("/items/{id}", read, methods=["GET"]), Route("/items", create, methods=["POST"])])
