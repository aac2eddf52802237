"""The connector under test: where it comes from, what it says it is, which capabilities it declares.

A vendor names a factory (``package.module:build``, in process) or a
command (``--connector-cmd``, black-box: any language, run as a process
against the systems over real HTTP) and writes no test code.

- A factory's module may declare ``C2C_CAPABILITIES``, the capabilities of
  :data:`conformance.catalog.CAPABILITIES` it supports (all, if absent),
  and ``C2C_NAME``. The identity in the report includes a sha256 of the
  module's source, so a certificate names the code it certified.
- A command may come with a manifest (``--connector-manifest``), a JSON
  object with ``name``, ``version`` and ``capabilities``; without one it
  is named by its command line and claims every capability. Its identity
  is a sha256 of the command line and the manifest's bytes.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance import DEFAULT_CONNECTOR
from conformance.catalog import CAPABILITIES, PROCESS
from simulator.runtime import ConnectorLoadError, load_factory


class SubjectError(Exception):
    """The connector named on the command line cannot be certified as given."""


@dataclass(frozen=True)
class Subject:
    spec: str  # the factory's name, or the black-box command line
    factory: Callable[[Any], Any] | None  # None for a black-box connector
    name: str
    version: str
    source_sha256: str
    capabilities: frozenset[str]
    command: str | None = None  # the black-box command line
    manifest: Path | None = None  # its manifest, when it came with one

    def options(self) -> str:
        """The suite's command-line options that name this subject again."""
        if self.command is None:
            return f"--connector {shlex.quote(self.spec)}"
        manifest = f" --connector-manifest {shlex.quote(str(self.manifest))}" if self.manifest else ""
        return f"--connector-cmd {shlex.quote(self.command)}{manifest}"

    @property
    def black_box(self) -> bool:
        return self.command is not None

    def lacks(self, capability: str | None) -> bool:
        if capability == PROCESS:
            return not self.black_box
        return capability is not None and capability not in self.capabilities

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "mode": "black-box" if self.black_box else "in-process", "name": self.name,
                "version": self.version, "source_sha256": self.source_sha256,
                "capabilities": sorted(self.capabilities)}


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
    declared = _capabilities(getattr(module, "C2C_CAPABILITIES", CAPABILITIES), f"{module_name}.C2C_CAPABILITIES")
    try:
        source = inspect.getsource(module).encode()
    except (OSError, TypeError):
        source = b""
    name = getattr(module, "C2C_NAME", None) or (module.__doc__ or module_name).strip().splitlines()[0]
    return Subject(spec, factory, str(name), _version(module_name, module),
                   hashlib.sha256(source).hexdigest(), declared)


def _capabilities(declared: Any, where: str) -> frozenset[str]:
    if isinstance(declared, str) or not isinstance(declared, Iterable) or not all(isinstance(c, str) for c in declared):
        raise SubjectError(f"{where} must be a list of capability names (known: {', '.join(CAPABILITIES)})")
    unknown = sorted(set(declared) - set(CAPABILITIES))
    if unknown:
        raise SubjectError(f"{where}: unknown capabilities {', '.join(unknown)} (known: {', '.join(CAPABILITIES)})")
    return frozenset(declared)


MANIFEST_FIELDS = {"name", "version", "capabilities"}


def load_black_box_subject(command: str, manifest: Path | None) -> Subject:
    """A connector run as a process by ``command``, described by its manifest (a JSON file), if any."""
    if not command.strip():
        raise SubjectError("--connector-cmd: expected a command line that starts the connector; got nothing")
    if manifest is None:
        return Subject(command, None, f"black-box connector: {command}", "unknown",
                       hashlib.sha256(command.encode()).hexdigest(), frozenset(CAPABILITIES), command)
    try:
        raw = manifest.read_bytes()
    except OSError as exc:
        raise SubjectError(f"--connector-manifest {str(manifest)!r}: cannot read it: {exc.strerror or exc}") from None
    try:
        described = json.loads(raw)
    except ValueError as exc:
        raise SubjectError(f"--connector-manifest {str(manifest)!r}: not JSON: {exc}") from None
    if not isinstance(described, dict):
        raise SubjectError(f"--connector-manifest {str(manifest)!r}: expected a JSON object with "
                           f"{', '.join(sorted(MANIFEST_FIELDS))}")
    unknown = sorted(set(described) - MANIFEST_FIELDS)
    if unknown:
        raise SubjectError(f"--connector-manifest {str(manifest)!r}: unknown field(s) {', '.join(unknown)}; "
                           f"expected {', '.join(sorted(MANIFEST_FIELDS))}")
    for field in ("name", "version"):
        if not isinstance(described.get(field, ""), str):
            raise SubjectError(f"--connector-manifest {str(manifest)!r}: {field} must be a string")
    capabilities = _capabilities(described.get("capabilities", list(CAPABILITIES)),
                                 f"--connector-manifest {str(manifest)!r}: capabilities")
    return Subject(command, None, described.get("name") or f"black-box connector: {command}",
                   described.get("version") or "unknown",
                   hashlib.sha256(command.encode() + b"\0" + raw).hexdigest(), capabilities, command, manifest)
