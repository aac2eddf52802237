"""The installed plugin acts only in sessions that collect the suite.

pytest loads it in every session of an environment that has c2c installed
(entry point ``pytest11``); a vendor's own tests in that environment must
run as if it were not there: no report folder, no JUnit file, no options
checked.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conformance.test_suite import SUITE

pytest_plugins = ["pytester"]


def test_a_session_without_the_suite_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_theirs="def test_theirs():\n    assert True\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--c2c-profile", "not-a-profile")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "conformance-report").exists()
    assert "c2c conformance" not in result.stdout.str()


@pytest.mark.parametrize("how", ["path", "pyargs", "node id"])
def test_the_suite_is_recognised_however_it_is_named(pytester: pytest.Pytester, how: str) -> None:
    target = {"path": [str(SUITE)], "pyargs": ["--pyargs", "conformance"],
              "node id": [f"{SUITE / 'test_requirements.py'}::test_requirement"]}[how]
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--co", "-q", *target)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*test_requirement[[]C2C-IDEMP-001[]]*"])
    assert (pytester.path / "conformance-report").is_dir()


NO_HYPOTHESIS = """
import sys
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "hypothesis":
            raise ModuleNotFoundError(f"No module named {name!r}", name="hypothesis")
sys.meta_path.insert(0, NotInstalled())
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def _pytest_without_hypothesis(cwd, *args: str) -> subprocess.CompletedProcess:
    """pytest in a fresh interpreter where ``import hypothesis`` fails, as with c2c installed without its extra
    (the pytest plugins of hypothesis and of schemathesis, which needs it, would not be installed either: left out)."""
    return subprocess.run([sys.executable, "-c", NO_HYPOTHESIS, "-p", "no:hypothesispytest", "-p", "no:schemathesis",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_without_the_conformance_extra_the_suite_says_what_to_install_and_other_sessions_still_run(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_theirs="def test_theirs():\n    assert True\n")
    theirs = _pytest_without_hypothesis(pytester.path, "-q", "-p", "no:cacheprovider", "test_theirs.py")
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    suite = _pytest_without_hypothesis(pytester.path, "-q", "-p", "no:cacheprovider", "--co", "--pyargs", "conformance")
    assert suite.returncode == pytest.ExitCode.USAGE_ERROR, suite.stdout + suite.stderr
    assert "needs 'hypothesis'" in suite.stderr and "pip install 'c2c[conformance]'" in suite.stderr
    assert "Traceback" not in suite.stderr
