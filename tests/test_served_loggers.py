"""A served run's threads create no logger: those they use exist once ``mocks.server`` is imported.

pytest (9) attaches its log capture at each test's setup by walking
logging's registry of loggers without logging's lock. A conformance
session runs served runs in background threads while its tests run, and a
thread that created a logger meanwhile (uvicorn's access logger, httpcore's
when httpx first connected) broke a certification's first requirement with
``RuntimeError: dictionary changed size during iteration``, raised in
pytest's own code. Importing ``mocks.server`` now creates them in the
importing thread (:func:`mocks.server.register_loggers`).

The run is made in a fresh interpreter, so no earlier test has created the
loggers already and the check can fail.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = """
import json, logging, sys, tempfile
from pathlib import Path
import conformance.plugin, conformance.observation
from simulator.served import run_black_box
from simulator.scenario import load_scenario
before = set(logging.root.manager.loggerDict)
scenario = load_scenario(Path("conformance/scenarios/small_firm.yaml"))
result = run_black_box(scenario, 1, f"{sys.executable} -m reference_impl", Path(tempfile.mkdtemp()), speed=864_000)
print(json.dumps({"new": sorted(set(logging.root.manager.loggerDict) - before),
                  "mismatches": len(result.reconciliation.mismatches)}))
"""


@pytest.mark.slow  # a connector started as a process for a served run
def test_a_served_run_creates_no_logger_in_its_threads() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"new": [], "mismatches": 0}, seen
