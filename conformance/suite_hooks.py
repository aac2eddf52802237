"""The suite's hooks while it runs: one test per requirement, the certification, the results bundle.

:mod:`conformance.plugin` registers this module only in a session that
collects the suite, and then calls :func:`start`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import DEFAULT_CONNECTOR
from conformance.catalog import BY_ID, CATALOG, PROCESS
from conformance.certification import Certification
from conformance.observation import LoadTarget
from conformance.report import JSON_NAME, JUNIT_NAME, MARKDOWN_NAME, verdict_words, write_report
from conformance.subject import Subject, SubjectError, load_black_box_subject, load_subject
from conformance.verdict import NOT_RUN, Profile, in_profile

CERTIFICATION = pytest.StashKey[Certification]()
REPORT_DIR = pytest.StashKey[Path]()


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise pytest.UsageError(f"--c2c-seed {text!r}: expected a whole number >= 0") from None
    if seed < 0:
        raise pytest.UsageError(f"--c2c-seed {text!r}: expected a whole number >= 0")
    return seed


def _writable_directory(name: str) -> Path:
    """The report directory, created now: a run must not find out at its very end that it cannot write."""
    if not name:
        raise pytest.UsageError("--c2c-report-dir: must name a directory; got an empty string")
    folder = Path(name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".c2c-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise pytest.UsageError(f"--c2c-report-dir {name!r}: cannot write there: {exc.strerror or exc}") from None
    return folder


def _subject(config: pytest.Config) -> Subject:
    """The factory ``--connector`` names, or the process ``--connector-cmd`` starts (not both)."""
    command, manifest = config.getoption("--connector-cmd"), config.getoption("--connector-manifest")
    if command is None:
        if manifest is not None:
            raise SubjectError("--connector-manifest describes a black-box connector; give its --connector-cmd too")
        return load_subject(config.getoption("--connector"))
    if config.getoption("--connector") != DEFAULT_CONNECTOR:
        raise SubjectError("--connector and --connector-cmd both name the connector under test; give one")
    return load_black_box_subject(command, Path(manifest) if manifest is not None else None)


def _positive(option: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise pytest.UsageError(f"{option} {value!r}: expected a number") from None
    if not low <= number <= high:
        raise pytest.UsageError(f"{option} {value!r}: expected a number from {low:g} to {high:g}")
    return number


def _load_target(config: pytest.Config) -> LoadTarget:
    return LoadTarget(_positive("--load-rate", config.getoption("--load-rate"), 0.5, 10_000),
                      _positive("--load-duration", config.getoption("--load-duration"), 5, 3_600))


def start(config: pytest.Config) -> None:
    """Check the options and set up the session's certification (called by the plugin when the suite is collected)."""
    try:
        profile = Profile(config.getoption("--c2c-profile"))
    except ValueError:
        raise pytest.UsageError(f"--c2c-profile {config.getoption('--c2c-profile')!r}: expected core or full") from None
    try:
        subject = _subject(config)
    except SubjectError as exc:
        raise pytest.UsageError(str(exc)) from None
    report_dir = _writable_directory(config.getoption("--c2c-report-dir"))
    certification = Certification(subject, _seed(config.getoption("--c2c-seed")), profile, report_dir,
                                  load_target=_load_target(config))
    config.stash[CERTIFICATION] = certification
    config.pluginmanager.register(_Recorder(certification), "c2c-recorder")
    config.stash[REPORT_DIR] = report_dir
    if not config.option.xmlpath:  # JUnit XML is part of the bundle unless the caller put it elsewhere
        config.option.xmlpath = str(report_dir / JUNIT_NAME)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "requirement" in metafunc.fixturenames and CERTIFICATION in metafunc.config.stash:
        profile = metafunc.config.stash[CERTIFICATION].profile
        chosen = [r for r in CATALOG if in_profile(r, profile)]
        metafunc.parametrize("requirement", chosen, ids=[r.id for r in chosen])


BLACK_BOX_RUNS_AT_ONCE = 4  # a black-box run mostly waits (on the wall clock and the connector), so they overlap


def pytest_collection_finish(session: pytest.Session) -> None:
    """A black-box connector's scenario runs start now, several at once, for the requirements selected."""
    certification = session.config.stash.get(CERTIFICATION, None)
    if certification is None or not certification.subject.black_box or session.config.option.collectonly:
        return
    chosen = [BY_ID[r] for item in session.items if (r := _selected_requirement(item)) is not None]
    # A load run is made when its requirement is judged, on its own: overlapping it would load the machine, not
    # the connector.
    wanted = [r.scenario for r in chosen if not certification.subject.lacks(r.needs) and r.needs != PROCESS]
    certification.observations.prefetch(wanted, BLACK_BOX_RUNS_AT_ONCE)


def _selected_requirement(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    requirement = callspec.params.get("requirement") if callspec is not None else None
    return getattr(requirement, "id", None)


@pytest.fixture(scope="session")
def certification(request: pytest.FixtureRequest) -> Certification:
    return request.config.stash[CERTIFICATION]


def _requirement_of(report: pytest.TestReport) -> str | None:
    """The requirement a report is about: recorded by the test, or (a setup error) read from its test id."""
    for name, value in report.user_properties:
        if name == "requirement":
            return value
    node, _, param = report.nodeid.partition("[")
    if node.endswith("test_requirements.py::test_requirement") and param.rstrip("]") in BY_ID:
        return param.rstrip("]")
    return None


class _Recorder:
    """Feeds every test report of a requirement to the session's certification."""

    def __init__(self, certification: Certification) -> None:
        self.certification = certification

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        requirement = _requirement_of(report)
        if requirement is not None:
            self.certification.record(requirement, report)


REPORT_KEY = pytest.StashKey[tuple]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    certification = session.config.stash.get(CERTIFICATION, None)
    if certification is None or not certification.outcomes:
        return
    directory = session.config.stash[REPORT_DIR]
    report = write_report(certification, directory)
    session.config.stash[REPORT_KEY] = (directory, report)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    written = config.stash.get(REPORT_KEY, None)
    if written is None:
        return
    directory, report = written
    terminalreporter.section("c2c conformance")
    terminalreporter.write_line(f"connector {report['connector']['spec']} · seed {report['seeds'][0]} · "
                                f"profile {report['profile']} · catalog {report['catalog_hash'][:19]}")
    certification = config.stash[CERTIFICATION]
    if certification.unbuildable is not None:  # once here, not once per requirement
        first, why = certification.unbuildable
        terminalreporter.write_line(f"the connector cannot be built: {why} (details under {first}); "
                                    "every requirement run failed", red=True)
    for profile, result in report["verdicts"].items():
        word, blockers = verdict_words(result)
        not_run = result["status"] == NOT_RUN
        terminalreporter.write_line(f"{profile}: {word}{blockers}", green=result["certified"],
                                    yellow=not_run, red=not (result["certified"] or not_run))
    terminalreporter.write_line(f"report: {directory / JSON_NAME}, {directory / MARKDOWN_NAME}, "
                                f"{config.option.xmlpath}")
