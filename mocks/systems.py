"""The registry of mock systems, and the systems of one run wired to one clock and one secret.

:data:`REGISTRY` is the one place a system is registered, in order (parents
first: customers, contracts, work, billing). Everything that goes over every
system derives from it: the systems :func:`build_systems` builds, their host
names, the system names a scenario may give. Adding a system is its own
folder (a :class:`~mocks.core.backend.Backend` and a ``build_service``, as
``mocks/crm/`` has) plus one line in :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mocks import clm, crm, erp, psa
from mocks.clm import ClmBackend
from mocks.core.backend import Backend
from mocks.core.clock import Clock
from mocks.core.service import Service
from mocks.core.webhooks import Outbox, make_secret
from mocks.crm import CrmBackend
from mocks.erp import ErpBackend
from mocks.psa import PsaBackend

DOMAIN = "c2c.test"


@dataclass(frozen=True)
class MockSystem:
    """One registered system: its backend class and how to serve it over HTTP."""

    backend: type[Backend]
    build_service: Callable[..., Service]  # (backend, clients: client id -> secret) -> the service
    takes_tax_rates: bool = False  # its backend is built with the run's tax rates (by jurisdiction)

    @property
    def name(self) -> str:
        return self.backend.system

    @property
    def host(self) -> str:
        return f"{self.name}.{DOMAIN}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def new_backend(self, clock: Clock, tax_rates: dict, feed_retention: int | None) -> Backend:
        options = {"tax_rates": tax_rates} if self.takes_tax_rates else {}
        return self.backend(clock, feed_retention=feed_retention, **options)


REGISTRY: dict[str, MockSystem] = {system.name: system for system in (
    MockSystem(crm.CrmBackend, crm.build_service),
    MockSystem(clm.ClmBackend, clm.build_service),
    MockSystem(psa.PsaBackend, psa.build_service),
    MockSystem(erp.ErpBackend, erp.build_service, takes_tax_rates=True),
)}
SYSTEM_NAMES: tuple[str, ...] = tuple(REGISTRY)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


@dataclass
class Systems:
    backends: dict[str, Backend]  # in registry order, as are services and outboxes
    services: dict[str, Service]
    outboxes: dict[str, Outbox]
    credentials: Credentials
    webhook_secret: str

    def backend(self, system: str) -> Backend:
        return self.backends[system]

    # The registered systems by name, typed, for the code that uses their domain.
    @property
    def crm(self) -> CrmBackend:
        return self.backends["crm"]

    @property
    def clm(self) -> ClmBackend:
        return self.backends["clm"]

    @property
    def psa(self) -> PsaBackend:
        return self.backends["psa"]

    @property
    def erp(self) -> ErpBackend:
        return self.backends["erp"]

    @property
    def urls(self) -> dict[str, str]:
        return {name: REGISTRY[name].url for name in self.backends}

    @property
    def services_by_host(self) -> dict[str, Service]:
        return {REGISTRY[name].host: service for name, service in self.services.items()}

    @property
    def system_of_host(self) -> dict[str, str]:
        return {REGISTRY[name].host: name for name in self.services}


def build_systems(clock: Clock, tax_rates: dict, seed: int, feed_retention: int | None = None) -> Systems:
    """Fresh, empty systems. Secrets derive from the seed so runs replay exactly."""
    credentials = Credentials("c2c-connector", make_secret(f"client:{seed}")[6:30])
    clients = {credentials.client_id: credentials.client_secret}
    backends = {name: system.new_backend(clock, tax_rates, feed_retention) for name, system in REGISTRY.items()}
    services = {name: REGISTRY[name].build_service(backend, clients) for name, backend in backends.items()}
    secret = make_secret(f"webhooks:{seed}")
    outboxes = {}
    for name, backend in backends.items():
        outbox = Outbox(name, secret, lambda: int(clock.now()))
        backend.feed.subscribe(outbox)
        outboxes[name] = outbox
    return Systems(backends, services=services, outboxes=outboxes, credentials=credentials,
                   webhook_secret=secret)
