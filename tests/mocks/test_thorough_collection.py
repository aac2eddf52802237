"""The thorough schemathesis module is collected exactly when ``-m`` can select a thorough test."""

from __future__ import annotations

import pytest

from tests.mocks.conftest import selects_thorough


@pytest.mark.parametrize(("markexpr", "collected"), [
    ("", True),
    ("thorough", True),
    ("slow or thorough", True),
    ("benchmark_suite and thorough", False),  # its tests carry no benchmark_suite mark
    ("not slow and not benchmark_suite and not thorough", False),  # the default run's
    ("slow and not certification", False),  # CI's slow stage
    ("not thorough", False),
])
def test_the_thorough_module_is_collected_when_its_tests_can_be_selected(markexpr: str, collected: bool) -> None:
    assert selects_thorough(markexpr) is collected


def test_an_expression_pytest_cannot_read_collects_it() -> None:
    assert selects_thorough("thorough and (") is True
