"""The suite's pytest plugin, as pytest loads it: the ``c2c`` option group and nothing heavier.

Installed with the package, pytest loads this module in every session
(entry point ``pytest11``), so it imports nothing but pytest and the
standard library. It stays inert unless the session collects the suite
itself: ``pytest --pyargs conformance`` from anywhere, or ``pytest
conformance/`` from a checkout. Then it registers
:mod:`conformance.suite_hooks`, which certifies the reference connector on
the ``core`` profile, or ``--connector package.module:build``. Bad options
stop the run with one line naming the option, before anything is
collected; so does a missing ``conformance`` extra.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import DEFAULT_CONNECTOR

SUITE = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("c2c", "c2c conformance")
    group.addoption("--connector", default=DEFAULT_CONNECTOR, metavar="MODULE:FUNCTION",
                    help=f"connector factory to certify [default: {DEFAULT_CONNECTOR}]")
    group.addoption("--connector-cmd", default=None, metavar="COMMAND",
                    help="certify a black-box connector: a command line that starts it as a process (the black-box "
                         "contract: C2C_* variables, POST /webhooks/{system}, GET /healthz); the systems are served "
                         "over real HTTP")
    group.addoption("--connector-manifest", default=None, metavar="FILE",
                    help="the black-box connector's JSON manifest: name, version, capabilities [default: all]")
    group.addoption("--c2c-seed", default="1", metavar="N", help="seed of every scenario run [default: 1]")
    group.addoption("--load-rate", default="20", metavar="N",
                    help="black-box only: timesheet approvals a second C2C-LOAD-002 loads the connector with over real "
                         "HTTP; the report states the rate certified [default: 20]")
    group.addoption("--load-duration", default="30", metavar="SECONDS",
                    help="black-box only: how long C2C-LOAD-002's load lasts [default: 30]")
    group.addoption("--c2c-profile", default="core", metavar="core|full",
                    help="core: every MUST; full: every MUST and SHOULD, longer property runs [default: core]")
    group.addoption("--c2c-report-dir", default="conformance-report", metavar="DIR",
                    help="where conformance-report.json, the Markdown summary and junit.xml go "
                         "[default: conformance-report]")


def _targets(config: pytest.Config) -> Iterator[Path]:
    """The files and folders the session was asked to collect (module names too, under ``--pyargs``)."""
    for arg in config.args:
        target = arg.split("::", 1)[0]
        path = (config.invocation_params.dir / target).resolve()
        if path.exists():
            yield path
        elif config.option.pyargs:
            try:
                spec = importlib.util.find_spec(target)
            except (ImportError, ValueError):
                continue
            if spec is not None and spec.origin:
                yield Path(spec.origin).resolve().parent if spec.submodule_search_locations else Path(spec.origin)


def collects_suite(config: pytest.Config) -> bool:
    """Whether this session collects the suite: one of its targets is in the suite's folder, or contains it."""
    return any(path == SUITE or SUITE in path.parents or path in SUITE.parents for path in _targets(config))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not collects_suite(config):
        return
    try:
        hooks = importlib.import_module("conformance.suite_hooks")
    except ModuleNotFoundError as exc:
        raise pytest.UsageError(f"the conformance suite needs {(exc.name or '?').split('.')[0]!r}, which its extra installs: "
                                "pip install 'c2c[conformance]'") from None
    config.pluginmanager.register(hooks, "c2c-suite")
    hooks.start(config)
