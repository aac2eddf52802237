"""The run's output files: a public, versioned format.

- ``kpis.json``: deterministic; sorted keys, fixed float rounding.
- ``events.jsonl``: deterministic; one record per line, in simulated-time order.
- ``run.json``: what is *not* deterministic: wall time, memory, versions, and
  the connector's errors with the first traceback of each kind.
- ``mismatches.jsonl``: deterministic; every reconciliation mismatch, one per
  line, the most money at stake first (empty when the ERP reconciles).
"""

from __future__ import annotations

import json
import platform
import resource
import sys
from importlib import metadata
from json.encoder import c_make_encoder, encode_basestring_ascii
from pathlib import Path
from typing import IO, Any

import orjson

from mocks.systems import Systems
from simulator.oracle import Mismatch

PACKAGES = ("c2c", "simpy", "faker", "httpx", "pydantic", "pyyaml", "click", "rich")


_PLAIN = frozenset({str, int, bool, type(None)})  # what orjson writes as json.dumps does (ASCII text, 64-bit ints)


def _orjson_writes_it_as_json(record: dict[str, Any]) -> bool:
    """Whether orjson writes ``record`` byte for byte as ``json.dumps(record, separators=(",", ":"))`` does,
    as far as the values' types tell: strings, integers, booleans, None, lists of strings, and floats that both
    write in positional notation (0, and 1e-4 <= |x| < 1e16: ``repr`` switches to an exponent outside, orjson at
    other bounds; orjson writes NaN and infinity as null). What only the text tells (a string outside ASCII or
    with DEL, which json escapes; an integer beyond 64 bits or a key that is not a string, which orjson
    refuses) :class:`JsonLinesSink` checks on what orjson wrote."""
    for value in record.values():
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is float:
            if value == 0.0 or 1e-4 <= abs(value) < 1e16:
                continue
            return False
        if kind is list and all(type(item) is str for item in value):
            continue
        return False
    return True


class JsonLinesSink:
    """A trace sink that streams records to a file as compact JSON lines, each written as it is made.

    The bytes are ``json.dumps(record, separators=(",", ":"))``'s. The records are flat and made by the harness:
    one of strings, numbers and lists of strings is written by orjson where orjson writes the same text
    (:func:`_orjson_writes_it_as_json`, then ASCII without DEL), in about two thirds of the time; any other by
    json's C encoder, built once (``json.dumps`` builds one per call, the larger part of encoding a small
    record) and checking for no reference cycles.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._write = stream.write
        standard = json.JSONEncoder(separators=(",", ":"))
        if c_make_encoder is None:  # an interpreter without json's C encoder
            self._encode = lambda record, level: (standard.encode(record),)
        else:
            self._encode = c_make_encoder(None, standard.default, encode_basestring_ascii, None, ":", ",",
                                          False, False, True)

    def __call__(self, record: dict[str, Any]) -> None:
        if _orjson_writes_it_as_json(record):
            try:
                line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
            except TypeError:  # orjson.JSONEncodeError is one: an integer beyond 64 bits, a key not a string
                line = b"\x80"
            if line.isascii() and b"\x7f" not in line:
                self._write(line.decode())
                return
        self._write("".join(self._encode(record, 0)) + "\n")


def write_kpis(path: Path, kpis: dict[str, Any]) -> None:
    path.write_text(json.dumps(kpis, indent=2, sort_keys=True) + "\n")


def money_at_stake(mismatch: Mismatch) -> int:
    """Minor units of its currency; a count that is off (no currency) is not money."""
    return mismatch.money_at_stake if mismatch.currency else 0


def by_money(mismatch: Mismatch) -> tuple:
    """Most money at stake first; ties by rule, then item, so the order is the same on every run."""
    return -money_at_stake(mismatch), mismatch.rule, mismatch.item


def mismatch_records(mismatches: list[Mismatch], systems: Systems) -> list[dict[str, Any]]:
    """Every mismatch, ranked by money at stake, with the charge's lineage where the item is an ERP charge."""
    records = []
    for mismatch in sorted(mismatches, key=by_money):
        record = {**mismatch.to_json(), "money_at_stake": money_at_stake(mismatch)}
        kind, _, charge_id = mismatch.item.partition("/")
        charge = systems.erp.charges.get(charge_id) if kind == "erp:charge" else None
        if charge is not None:
            record["lineage"] = charge.lineage
        records.append(record)
    return records


def write_mismatches(path: Path, mismatches: list[Mismatch], systems: Systems) -> None:
    """``mismatches.jsonl``: one JSON object per line, sorted keys; an empty file when there are none."""
    with path.open("w") as stream:
        for record in mismatch_records(mismatches, systems):
            stream.write(json.dumps(record, sort_keys=True, default=str) + "\n")


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_run(path: Path, *, wall_seconds: float, api_calls: int, trace_counts: dict[str, int],
              fault_counts: dict[str, int], command: list[str],
              connector_errors: list[dict[str, Any]] = ()) -> dict[str, Any]:
    run = {
        "wall_seconds": round(wall_seconds, 3),
        "peak_rss_mib": peak_rss_mib(),
        "connector_calls": api_calls,
        "connector_calls_per_wall_second": round(api_calls / wall_seconds, 1) if wall_seconds else None,
        "trace_records": dict(sorted(trace_counts.items())),
        "faults": dict(sorted(fault_counts.items())),
        "connector_errors": list(connector_errors),  # per kind: count, and the first one with its traceback
        "command": command,
        "versions": package_versions(),
    }
    path.write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
    return run
