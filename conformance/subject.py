"""The connector under test: where it comes from, what it says it is, which capabilities it declares.

A vendor names a factory (``package.module:build``) and writes no
test code. The module may declare ``C2C_CAPABILITIES``, the capabilities
of :data:`conformance.catalog.CAPABILITIES` it supports (all, if absent),
and ``C2C_NAME``. The identity in the report includes a sha256 of the
module's source, so a certificate names the code it certified.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from conformance import DEFAULT_CONNECTOR
from conformance.catalog import CAPABILITIES
from simulator.runtime import ConnectorLoadError, load_factory


class SubjectError(Exception):
    """The connector named on the command line cannot be certified as given."""


@dataclass(frozen=True)
class Subject:
    spec: str
    factory: Callable[[Any], Any]
    name: str
    version: str
    source_sha256: str
    capabilities: frozenset[str]

    def lacks(self, capability: str | None) -> bool:
        return capability is not None and capability not in self.capabilities

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "name": self.name, "version": self.version,
                "source_sha256": self.source_sha256, "capabilities": sorted(self.capabilities)}


def _version(module_name: str, module: Any) -> str:
    """``__version__`` if the module declares one, else its installed distribution's, else "unknown"."""
    declared = getattr(module, "__version__", None)
    if isinstance(declared, str):
        return declared
    for distribution in metadata.packages_distributions().get(module_name.partition(".")[0], []):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def load_subject(spec: str) -> Subject:
    if spec.count(":") != 1 or not all(spec.split(":")):
        raise SubjectError(f"--connector {spec!r}: expected package.module:function, e.g. {DEFAULT_CONNECTOR}")
    try:
        factory = load_factory(spec)
    except ConnectorLoadError as exc:
        raise SubjectError(f"--connector {spec!r}: {exc}") from None
    module_name = spec.partition(":")[0]
    module = importlib.import_module(module_name)
    declared = getattr(module, "C2C_CAPABILITIES", CAPABILITIES)
    if isinstance(declared, str) or not isinstance(declared, Iterable) or not all(isinstance(c, str) for c in declared):
        raise SubjectError(f"{module_name}.C2C_CAPABILITIES must be a collection of capability names")
    unknown = sorted(set(declared) - set(CAPABILITIES))
    if unknown:
        raise SubjectError(f"{module_name}.C2C_CAPABILITIES: unknown capabilities {', '.join(unknown)} "
                           f"(known: {', '.join(CAPABILITIES)})")
    try:
        source = inspect.getsource(module).encode()
    except (OSError, TypeError):
        source = b""
    name = getattr(module, "C2C_NAME", None) or (module.__doc__ or module_name).strip().splitlines()[0]
    return Subject(spec, factory, str(name), _version(module_name, module),
                   hashlib.sha256(source).hexdigest(), frozenset(declared))
