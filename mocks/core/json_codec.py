"""JSON bodies in and out of the systems, encoded and read with orjson where it gives what ``json`` gives.

The in-process systems encode every response body and read every request body; at the large firm's scale the
standard library's encoder was about a sixth of a run's CPU. orjson does both in a fraction of the time, and
where it would not give what ``json`` gives, the standard library does the work instead:

- :func:`dumps` is ``json.dumps(value, separators=(",", ":"))`` as bytes, except that text outside ASCII is
  written as UTF-8 rather than ``\\uXXXX`` escapes and a float may be spelt differently (``0.00001`` for
  ``1e-05``): the same JSON value either way. A value orjson would encode where ``json`` refuses it (a
  dataclass, a datetime, a subclass of ``str``, ``int``, ``dict`` or ``list``) or refuses itself (an integer
  beyond 64 bits, a key that is not a string, a string with a lone surrogate) goes to ``json``, which encodes or
  refuses it as it always did. One difference stays: a float NaN or infinity, which ``json`` writes as the
  non-JSON ``NaN``/``Infinity``, orjson writes as ``null``; no system keeps one.
- :func:`loads` is ``json.loads(data)``: orjson reads the text unless it is not JSON to orjson (``NaN``, a lone
  surrogate escape, a byte order mark: ``json`` then reads or refuses it, with its own message) or holds a run
  of 19 or more digits (an integer orjson would read beyond 64 bits as a float; ``json`` reads it exactly).
- :func:`loads_dumped` is :func:`loads` of what :func:`dumps` wrote, without the look for long numbers where
  orjson wrote it (it writes no integer beyond 64 bits: those it refuses, and ``json`` writes them; what
  ``json`` writes is :class:`StandardText`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_json_encode = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(value, separators=(",", ":")), one encoder

# Every byte to "0" if a digit, " " if not: a run of 19 digits in the text is then b"0" * 19 in its translation.
_DIGITS = bytes(ord("0") if byte in b"0123456789" else ord(" ") for byte in range(256))
_LONG_NUMBER = b"0" * 19  # 2**63 has 19 digits: orjson reads any integer it cannot hold in 64 bits as a float


class StandardText(bytes):
    """JSON text :func:`dumps` had ``json`` write (orjson refused the value): it may hold an integer beyond 64 bits."""

    __slots__ = ()


def dumps(value: Any) -> bytes:
    """``json.dumps(value, separators=(",", ":")).encode()``'s JSON value (see the module's docstring)."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one: json encodes it, or refuses it as it always did
        return StandardText(_json_encode(value).encode())


def loads_dumped(data: bytes) -> Any:
    """``json.loads(data)`` of the JSON text :func:`dumps` returned (only that: other text may hold an integer
    beyond 64 bits, which orjson would read as a float; :func:`loads` reads any text)."""
    if type(data) is bytes:  # orjson wrote it: no integer beyond 64 bits
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return loads(data)


def loads(data: bytes | str) -> Any:
    """``json.loads(data)`` (see the module's docstring)."""
    text = data.encode() if isinstance(data, str) and data.isascii() else data
    if isinstance(text, bytes) and _LONG_NUMBER not in text.translate(_DIGITS):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
