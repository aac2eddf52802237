"""Loads the suite's pytest plugin when pytest is pointed at conformance/ (see conformance/plugin.py)."""

from conformance.plugin import (  # noqa: F401  (pytest finds hooks and fixtures by name)
    certification,
    pytest_addoption,
    pytest_configure,
    pytest_generate_tests,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
