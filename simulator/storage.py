"""Durable connector storage: what survives a simulated crash.

The connector contract promises a ``MutableMapping[str, JSON]`` plus
``scan(prefix)``. Values are stored as JSON text, so a connector cannot
keep a live Python object in "durable" storage by accident (it would not
survive a real restart either); what it reads back is always a fresh copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any


class MemoryStorage(MutableMapping[str, Any]):
    """Durable-for-the-run storage held in memory; survives :meth:`ConnectorHost.crash`."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    def __getitem__(self, key: str) -> Any:
        return json.loads(self._data[key])

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = json.dumps(value, separators=(",", ":"))

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def scan(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        for key in sorted(k for k in self._data if k.startswith(prefix)):
            yield key, json.loads(self._data[key])
