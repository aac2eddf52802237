"""pytest never imports the locustfiles of ``loadtests/``, nor locust itself.

Locust monkey-patches sockets and threads process-wide (gevent) when it is
imported: a test process that imported it would run every later test on
gevent's sockets. Locustfiles run only as locust's subprocess (``c2c load``,
the P3 benchmark). Three guards, each checked here:

- the default run looks only in ``testpaths``, which do not reach
  ``loadtests/``;
- ``loadtests/conftest.py`` ignores every file there, so ``pytest
  loadtests`` or a locustfile named on the command line collects nothing
  and imports nothing;
- nothing pytest loads for the suite (plugins, including the one locust
  installs, and every test module, imported at collection) imports
  locust or gevent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT

PATCHING = ("locust", "gevent", "geventhttpclient")


def test_the_default_run_does_not_reach_loadtests():
    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    loadtests = (ROOT / "loadtests").resolve()
    for path in testpaths:
        reached = (ROOT / path).resolve()
        assert reached != loadtests and reached not in loadtests.parents, f"testpaths {path!r} reaches loadtests/"


def test_this_test_process_has_not_imported_locust_or_gevent():
    """Every test module was imported when this process collected the suite; the plugins were loaded before."""
    imported = [name for name in PATCHING if name in sys.modules]
    assert not imported, f"a test module or plugin imported {imported}: locust patches sockets process-wide"


@pytest.mark.slow
def test_collecting_loadtests_explicitly_imports_nothing():
    files = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "loadtests").glob("*.py") if path.name != "conftest.py")
    assert files, "no locustfile in loadtests/"
    script = ("import json, sys, pytest\n"
              "codes = [int(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', *args]))\n"
              f"         for args in (['loadtests'], {files!r})]\n"
              f"print(json.dumps([codes, [name for name in {PATCHING!r} if name in sys.modules]]))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    codes, imported = json.loads(run.stdout.strip().splitlines()[-1])
    assert imported == [], f"collecting {files} imported {imported}:\n{run.stdout[-2000:]}"
    assert codes == [pytest.ExitCode.NO_TESTS_COLLECTED] * 2, run.stdout[-2000:]
