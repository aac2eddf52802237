"""Durable connector storage: what survives a simulated crash.

The connector contract (:class:`simulator.contract.Storage`) promises a
``MutableMapping[str, JSON]`` plus ``scan(prefix)``. Values are stored as
JSON text, so a connector cannot keep a live Python object in "durable"
storage by accident (it would not survive a real restart either); what it
reads back is always a fresh copy. (In memory, a plain ``str``, ``int``,
``float``, ``bool`` or ``None`` is kept as itself: JSON gives each back
unchanged, and none can be changed in place. Any other value is written by
orjson, in a fraction of the time, unless orjson would not give it back as
``json`` does: a value it refuses, or one whose text holds a ``null``, which
may have been a float NaN or infinity; ``json`` writes those.)
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from json.scanner import make_scanner
from pathlib import Path
from typing import Any

import orjson

from simulator.contract import Storage

_encode = json.JSONEncoder(separators=(",", ":")).encode  # what json.dumps(value, separators=...) writes, one encoder
_scan = make_scanner(json.JSONDecoder())  # json.loads's own parser, called directly: (value, end) of a JSON text
UNCHANGED_BY_JSON = frozenset({str, int, float, bool, type(None)})  # exact types JSON gives back as they went in
# What orjson writes only what json.loads(json.dumps(value)) gives back: its refusals (and what json would refuse)
# raise, to be written by json.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _kept(value: Any) -> str | list[str] | tuple[Any]:
    """How :class:`MemoryStorage` keeps ``value``: a scalar JSON gives back unchanged as itself (in a 1-tuple, told
    apart from JSON text); anything else as JSON text: orjson's (a ``str``), or where orjson would not give the
    value back as ``json`` does, the text ``json.dumps(value, separators=(",", ":"))`` writes, in a 1-list.
    orjson refuses an integer beyond 64 bits, a key that is not a string, a lone surrogate, and (by the options)
    what ``json`` refuses; it writes a float NaN or infinity as ``null`` (``json`` gives them back): text with a
    ``null`` in it is written by ``json``. orjson's bytes are kept as text: they hold the buffer orjson wrote
    them in (about 4 KiB each), text copied from them only itself."""
    if type(value) in UNCHANGED_BY_JSON:
        return (value,)
    try:
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        return [_encode(value)]
    return [_encode(value)] if b"null" in text else text.decode()


def _value(kept: str | list[str] | tuple[Any]) -> Any:
    """What ``json.loads`` reads from what :func:`_kept` kept: a fresh copy of a container, a scalar as it is."""
    kind = type(kept)
    if kind is str:
        return orjson.loads(kept)  # what orjson wrote: integers within 64 bits, finite floats, as json reads them
    if kind is tuple:
        return kept[0]
    return _scan(kept[0], 0)[0]  # our own compact text: no whitespace for json.loads to skip around it


class MemoryStorage(Storage):
    """Durable-for-the-run storage held in memory; survives :meth:`ConnectorHost.crash`.

    ``scan(prefix)`` is answered from a per-prefix index built the first
    time that prefix is scanned and kept current on every write, so a
    connector that scans its dead-letter queue every few hours does not
    walk every key it ever stored.
    """

    def __init__(self) -> None:
        self._data: dict[str, str | list[str] | tuple[Any]] = {}  # key -> what _kept makes of its value
        self._by_prefix: dict[str, set[str]] = {}

    def __getitem__(self, key: str) -> Any:
        return _value(self._data[key])

    def __setitem__(self, key: str, value: Any) -> None:
        kept = _kept(value)  # before anything changes: a value JSON cannot encode raises and stores nothing
        if key not in self._data:
            for prefix, keys in self._by_prefix.items():
                if key.startswith(prefix):
                    keys.add(key)
        self._data[key] = kept

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        for prefix, keys in self._by_prefix.items():
            if key.startswith(prefix):
                keys.discard(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def scan(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        keys = self._by_prefix.get(prefix)
        if keys is None:
            keys = self._by_prefix[prefix] = {k for k in self._data if k.startswith(prefix)}
        for key in sorted(keys):
            yield key, _value(self._data[key])


class SqliteStorage(Storage):
    """Durable storage in a real SQLite file: what a connector process keeps on disk.

    Every write is committed before it returns (autocommit, WAL journal),
    so a connector killed between two writes finds the first one after a
    restart and never the second: the same guarantee a real process gets
    from its local database. ``scan`` is a range query on the primary key.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")

    def __getitem__(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return json.loads(row[0])

    def __setitem__(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                         (key, _encode(value)))

    def __delitem__(self, key: str) -> None:
        if self._db.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self._db.execute("SELECT 1 FROM kv WHERE key = ?", (key,)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        return iter([row[0] for row in self._db.execute("SELECT key FROM kv ORDER BY key")])

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM kv").fetchone()[0]

    def scan(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        rows = self._db.execute("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                                (prefix, prefix + "\U0010ffff")).fetchall()
        for key, value in rows:
            yield key, json.loads(value)

    def close(self) -> None:
        self._db.close()
