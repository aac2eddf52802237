"""The four mock systems of one run, wired to one clock and one secret."""

from __future__ import annotations

from dataclasses import dataclass

from mocks import clm, crm, erp, psa
from mocks.core.clock import Clock
from mocks.core.service import Service
from mocks.core.webhooks import Outbox, make_secret

SYSTEMS = ("crm", "clm", "psa", "erp")


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


@dataclass
class Systems:
    crm: crm.CrmBackend
    clm: clm.ClmBackend
    psa: psa.PsaBackend
    erp: erp.ErpBackend
    services: dict[str, Service]
    outboxes: dict[str, Outbox]
    credentials: Credentials
    webhook_secret: str

    def backend(self, system: str):
        return getattr(self, system)

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://{name}.c2c.test" for name in SYSTEMS}

    @property
    def services_by_host(self) -> dict[str, Service]:
        return {f"{name}.c2c.test": service for name, service in self.services.items()}


def build_systems(clock: Clock, tax_rates: dict, seed: int, feed_retention: int | None = None) -> Systems:
    """Fresh, empty systems. Secrets derive from the seed so runs replay exactly."""
    credentials = Credentials("c2c-connector", make_secret(f"client:{seed}")[6:30])
    clients = {credentials.client_id: credentials.client_secret}
    backends = {
        "crm": crm.CrmBackend(clock, feed_retention),
        "clm": clm.ClmBackend(clock, feed_retention),
        "psa": psa.PsaBackend(clock, feed_retention),
        "erp": erp.ErpBackend(clock, tax_rates, feed_retention),
    }
    modules = {"crm": crm, "clm": clm, "psa": psa, "erp": erp}
    services = {name: modules[name].build_service(backend, clients) for name, backend in backends.items()}
    secret = make_secret(f"webhooks:{seed}")
    outboxes = {}
    for name, backend in backends.items():
        outbox = Outbox(name, secret, lambda: int(clock.now()))
        backend.feed.subscribe(outbox)
        outboxes[name] = outbox
    return Systems(**backends, services=services, outboxes=outboxes, credentials=credentials, webhook_secret=secret)
