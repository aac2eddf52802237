"""``events.jsonl``'s lines are ``json.dumps(record, separators=(",", ":"))``'s, whichever encoder writes them."""

from __future__ import annotations

import io
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.output import JsonLinesSink


def written(record: dict) -> str:
    stream = io.StringIO()
    JsonLinesSink(stream)(record)
    return stream.getvalue()


def standard(record: dict) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"


flat = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.lists(st.text(), max_size=3)
records = st.dictionaries(st.text(), flat | st.lists(flat, max_size=3) | st.dictionaries(st.text(), flat, max_size=2),
                          max_size=8)


@given(records)
def test_any_record_is_written_as_json_writes_it(record: dict) -> None:
    assert written(record) == standard(record)


@pytest.mark.parametrize("record", [
    {"seq": 1, "t": 86400.125, "kind": "api", "system": "erp", "method": "GET", "path": "/charges", "status": 200},
    {"contracts": ["ctr_1", "ctr_2"], "t": 0.0}, {"t": 1e-05}, {"t": 1e16}, {"t": 1e-4}, {"t": 9999999999999998.0},
    {"t": math.nan}, {"t": -math.inf}, {"n": 2**64}, {"n": -(2**63) - 1}, {"n": 2**64 - 1}, {"text": "caf\u00e9"},
    {"text": "del\x7f"}, {"text": "".join(map(chr, range(128)))}, {1: "a"}, {"s": "\ud800"}, {"nested": {"a": 1.5}},
    {"flag": True, "none": None},
], ids=repr)
def test_records_on_either_side_of_what_orjson_writes(record: dict) -> None:
    assert written(record) == standard(record)
