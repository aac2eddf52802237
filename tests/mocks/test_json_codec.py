"""The systems' JSON codec gives the JSON values the standard library gives, and refuses what it refuses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from decimal import Decimal
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mocks.core import json_codec


def standard(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def typed(value: object) -> object:
    """The value with every number tagged by its type: 1 and 1.0 (and True) compare equal in Python."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                      max_leaves=20)


@given(values)
def test_what_it_writes_reads_back_as_the_standard_librarys_text_does(value: object) -> None:
    assert typed(json.loads(json_codec.dumps(value))) == typed(json.loads(standard(value)))
    assert typed(json_codec.loads(json_codec.dumps(value))) == typed(json.loads(standard(value)))
    assert typed(json_codec.loads_dumped(json_codec.dumps(value))) == typed(json.loads(standard(value)))


@pytest.mark.parametrize("value", [[2**64, 2**64 - 1, -(2**63), -(2**63) - 1], {"n": 10**30, 1: "key"},
                                   {"x": 0.0001234567890123456, "s": "12345678901234567890123"}])
def test_what_it_wrote_reads_back_exactly_without_the_look_for_long_numbers(value: object) -> None:
    assert typed(json_codec.loads_dumped(json_codec.dumps(value))) == typed(json.loads(standard(value)))


@given(values)
def test_it_reads_what_the_standard_library_reads(value: object) -> None:
    text = standard(value)
    assert typed(json_codec.loads(text)) == typed(json.loads(text))
    assert typed(json_codec.loads(text.decode())) == typed(json.loads(text.decode()))


@pytest.mark.parametrize("text", [b"18446744073709551616", b"-9223372036854775809", b'{"n":123456789012345678901234567890}',
                                  b"[9223372036854775807,-9223372036854775808,18446744073709551615]"])
def test_integers_beyond_64_bits_are_read_exactly(text: bytes) -> None:
    assert typed(json_codec.loads(text)) == typed(json.loads(text))


@pytest.mark.parametrize("text", [b"NaN", b"[Infinity,-Infinity]", b"1e400", b'"\\ud800"', b"\xef\xbb\xbf{}",
                                  '{"caf\u00e9":"\u00e9"}', '"\\ud83d\\ude00"', b"\xff\xfe{\x00}\x00"])
def test_what_orjson_refuses_the_standard_library_reads(text: bytes | str) -> None:
    expected, got = json.loads(text), json_codec.loads(text)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("text", [b"", b"{", b"[1,]", b"{'a':1}", b"\xff", b'"\x01"', "{\"a\":1} x", b"[1] [2]"])
def test_it_refuses_what_the_standard_library_refuses_with_its_message(text: bytes | str) -> None:
    with pytest.raises(ValueError) as standard_error:
        json.loads(text)
    with pytest.raises(ValueError) as codec_error:
        json_codec.loads(text)
    assert type(codec_error.value) is type(standard_error.value)
    assert str(codec_error.value) == str(standard_error.value)


class Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, {1: "a", None: 2, 1.5: True}, ["\ud800"], Colour.RED,
                                   {"colour": Colour.RED}, math.nan, [math.inf]])
def test_what_orjson_refuses_or_treats_otherwise_the_standard_library_writes(value: object) -> None:
    got = json_codec.dumps(value)
    if isinstance(value, float) or value == [math.inf]:  # the one difference: orjson writes null
        assert json.loads(got) in (None, [None])
    else:
        assert got == standard(value)


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [Point(1), dt.datetime(2026, 1, 1), dt.date(2026, 1, 1), Decimal("1.5"), {1, 2},
                                   object(), {"when": dt.datetime(2026, 1, 1)}, b"bytes"])
def test_what_the_standard_library_refuses_it_refuses(value: object) -> None:
    with pytest.raises(TypeError) as standard_error:
        standard(value)
    with pytest.raises(TypeError) as codec_error:
        json_codec.dumps(value)
    assert str(codec_error.value) == str(standard_error.value)


def test_text_outside_ascii_is_written_as_utf8() -> None:
    assert json_codec.dumps({"name": "Zoë"}) == '{"name":"Zoë"}'.encode()
