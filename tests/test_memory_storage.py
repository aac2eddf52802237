"""``MemoryStorage`` reads back what a JSON store would: ``json.loads(json.dumps(value))``, always a fresh copy,
whether it keeps the value as JSON text or (a plain scalar, which JSON gives back unchanged) as itself."""

from __future__ import annotations

import json
import math

import pytest

from simulator.storage import MemoryStorage, SqliteStorage

VALUES = ["", "text", "é\ud800", 0, -7, 2**70, 1.5, -0.0, 1e16, math.inf, True, False, None,
          [], {}, [1, "a", None], (1, 2), {"a": {"b": [1.25, {"c": None}]}, "n": 3},
          # in a container, what orjson refuses or writes otherwise: json writes these
          {"inf": [math.inf, -math.inf]}, [2**70, 2**64 - 1, -(2**63)], {1: "a", None: 2, 1.5: True}, ["é\ud800"],
          {"name": "Zoë", "big": 1e300, "small": 5e-324}]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_reads_back_as_json_gives_it_back(value, tmp_path) -> None:
    memory, sqlite = MemoryStorage(), SqliteStorage(tmp_path / "state.sqlite")
    for storage in (memory, sqlite):
        storage["k"] = value
    expected = json.loads(json.dumps(value))
    assert memory["k"] == expected == sqlite["k"] and type(memory["k"]) is type(expected)
    assert list(memory.scan("k")) == [("k", expected)]


def test_a_read_is_a_fresh_copy_and_a_value_json_cannot_write_stores_nothing() -> None:
    storage = MemoryStorage()
    storage["item:1"] = {"amounts": [1, 2]}
    storage["item:1"]["amounts"].append(3)
    assert storage["item:1"] == {"amounts": [1, 2]}
    assert list(storage.scan("item:")) == [("item:1", {"amounts": [1, 2]})]
    with pytest.raises(TypeError):
        storage["item:2"] = {"when": object()}
    assert "item:2" not in storage and list(storage.scan("item:")) == [("item:1", {"amounts": [1, 2]})]
    with pytest.raises(TypeError):
        storage["item:3"] = object()
    assert [key for key, _ in storage.scan("item:")] == ["item:1"] and len(storage) == 1
