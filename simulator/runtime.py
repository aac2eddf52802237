"""The connector contract, harness side: loading a connector and scheduling its callbacks.

The contract itself (:class:`~simulator.contract.Runtime`,
:class:`~simulator.contract.Connector`, :class:`~simulator.contract.Scheduler`,
:class:`~simulator.contract.Storage`, :class:`~simulator.contract.Delivery`)
is :mod:`simulator.contract`; ``Connector`` and ``Runtime`` are still
importable from here. This module finds a connector's factory by name,
builds it, and runs its scheduled callbacks in simulated time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import simpy

from mocks.core.faults import ProcessKilled
from simulator.contract import Connector, ConnectorFactory, Runtime

__all__ = ["Connector", "ConnectorLoadError", "Runtime", "SimulatedScheduler", "build_connector", "factory_name",
           "load_factory"]


class ConnectorLoadError(Exception):
    """No connector to run: the factory name does not resolve to a callable, the factory raised, or what it
    built lacks a callable ``receive`` or ``close``. The vendor's fault, reported as such, never a harness crash."""


class SimulatedScheduler:
    """The :class:`~simulator.contract.Scheduler` a connector instance gets: SimPy processes.

    Guarantee: after :meth:`cancel_all` (a crash) no callback of this
    instance runs again, so a dead connector cannot act from the grave.
    """

    def __init__(self, env: simpy.Environment, on_error: Callable[[BaseException], None],
                 on_killed: Callable[[], None] = lambda: None) -> None:
        self._env = env
        self._alive = True
        self._on_error = on_error
        self._on_killed = on_killed

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except ProcessKilled:  # the process died inside this callback: the host restarts it
            self._on_killed()
        except (Exception, SystemExit) as exc:  # a connector bug must not stop the world (nor end the harness)
            self._on_error(exc)

    def call_later(self, delay_s: float, fn: Callable[[], Any]) -> None:
        def process():
            yield self._env.timeout(delay_s)
            if self._alive:
                self._run(fn)
        self._env.process(process())

    def every(self, interval_s: float, fn: Callable[[], Any]) -> None:
        def process():
            while True:
                yield self._env.timeout(interval_s)
                if not self._alive:
                    return
                self._run(fn)
        self._env.process(process())

    def cancel_all(self) -> None:
        self._alive = False

    @property
    def alive(self) -> bool:
        return self._alive


def factory_name(factory: Callable[..., Any]) -> str:
    """``package.module:function``, as a scenario names a factory."""
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None)
    return f"{module}:{qualname}" if module and qualname else repr(factory)


def build_connector(factory: ConnectorFactory, runtime: Runtime) -> Connector:
    """Call the vendor's factory; whatever goes wrong there is a :class:`ConnectorLoadError` naming the factory."""
    name = factory_name(factory)
    try:
        connector = factory(runtime)
    except (Exception, SystemExit) as exc:  # a factory calling sys.exit() must not end the harness as a success
        raise ConnectorLoadError(f"factory {name} raised {type(exc).__name__}: {exc}") from exc
    missing = [method for method in ("receive", "close") if not callable(getattr(connector, method, None))]
    if missing:
        raise ConnectorLoadError(f"factory {name} returned {type(connector).__name__!r} without a callable "
                                 f"{' or '.join(missing)}; a connector has receive(delivery) -> int and close()")
    return connector


def load_factory(name: str) -> ConnectorFactory:
    module_name, _, attr = name.partition(":")
    if not module_name or not attr or ":" in attr:
        raise ConnectorLoadError(f"{name!r} is not package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConnectorLoadError(f"cannot import connector module {module_name!r}: {exc}") from None
    except Exception as exc:  # the module's own code failed while importing
        raise ConnectorLoadError(f"importing connector module {module_name!r} raised {type(exc).__name__}: {exc}") \
            from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConnectorLoadError(f"{module_name!r} has no callable {attr!r}; expected build(runtime) -> connector")
    return factory
