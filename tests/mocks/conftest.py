"""Collection of the mocks' tests: the thorough schemathesis module only when the run can select its tests."""

from __future__ import annotations

from pathlib import Path

import pytest

THOROUGH_MODULE = "test_schemathesis_thorough.py"


def selects_thorough(markexpr: str) -> bool:
    """Whether ``-m markexpr`` selects a test marked ``thorough`` and nothing else (True when it cannot be read)."""
    if not markexpr:
        return True
    try:
        from _pytest.mark.expression import Expression  # how pytest itself reads -m
        return bool(Expression.compile(markexpr).evaluate(lambda name, **_: name == "thorough"))
    except Exception:  # another pytest's reading: collect, and let -m deselect as usual
        return True


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave ``test_schemathesis_thorough.py`` uncollected when ``-m`` deselects thorough tests: collecting it
    builds every operation's thorough test, which costs each test process seconds for tests it would deselect."""
    if collection_path.name == THOROUGH_MODULE and not selects_thorough(config.getoption("markexpr")):
        return True
    return None
