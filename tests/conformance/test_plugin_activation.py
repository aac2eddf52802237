"""The installed plugin acts only in sessions that collect the suite.

pytest loads it in every session of an environment that has c2c installed
(entry point ``pytest11``); a vendor's own tests in that environment must
run as if it were not there: no report folder, no JUnit file, no options
checked.
"""

from __future__ import annotations

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
