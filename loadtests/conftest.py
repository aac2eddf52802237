"""Keeps pytest out of this folder: these are locustfiles, which locust runs as a subprocess.

Importing one imports locust, and locust monkey-patches sockets and threads
process-wide (gevent): a pytest process that collected one would run every
test after it on gevent's sockets (and fail on the first TLS context). So
nothing here is collected: not by ``pytest loadtests`` or ``pytest .``
(every file is ignored), nor when a locustfile is named on the command line
(pytest collects a named file whatever the ignore lists say, so it gets a
collector that imports nothing and holds no test). The default run never
looks here at all (``testpaths`` is ``tests``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

collect_ignore_glob = ["*.py"]


class Locustfile(pytest.File):
    """A locustfile named on pytest's command line: not imported, no test."""

    def collect(self) -> list[pytest.Item]:
        return []


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if module_path.resolve().parent == HERE:
        return Locustfile.from_parent(parent, path=module_path)
    return None
