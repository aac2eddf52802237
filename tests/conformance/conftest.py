"""Runs of the suite inside a test print what a vendor's terminal shows.

pytest prints whole failure messages in its short summary when it sees a CI
environment (``CI`` or ``BUILD_NUMBER``) and one line each otherwise; the
output these tests read must not depend on where they run.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def output_as_on_a_vendors_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
