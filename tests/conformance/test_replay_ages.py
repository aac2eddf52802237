"""C2C-SEC-002 replays a captured webhook at several ages, so a tolerance wider than 5 minutes shows whatever its width.

A replay is the captured bytes, so it carries its original timestamp: its
age is how late it is resent. ``attacks.yaml`` resends each captured
message 2 minutes (within the tolerance: a duplicate, not judged), 5½ and
7 minutes, 15 minutes, 2 hours, 6 hours and 2 days after it was sent. One
replay at 15 minutes, as the scenario used to send, lets a connector with a
10-minute tolerance through; with the ladder of ages it fails, and so does
one with a 5-hour tolerance, and each finding names the age it let in.
"""

from __future__ import annotations

from collections import Counter

import pytest

from conformance.observation import SCENARIOS
from simulator.run import simulate
from simulator.scenario import TIMESTAMP_TOLERANCE_S, load_scenario
from tests.broken_connectors import ten_minute_tolerance
from tests.conformance.test_suite import outcome, run_suite

pytest_plugins = ["pytester"]

SEEDS = (1, 2, 3)
LET_IN = {  # broken connector -> the stale replay ages it accepts, as the findings word them; older ones it refuses
    "ten_minute_tolerance": ("330 s (5.5 min)", "420 s (7 min)"),
    "five_hour_tolerance": ("330 s (5.5 min)", "420 s (7 min)", "900 s (15 min)", "2 h"),
}
REFUSED_FROM = {"ten_minute_tolerance": "900 s (15 min)", "five_hour_tolerance": "6 h"}


def sec_002(pytester: pytest.Pytester, seed: int, connector: str | None = None) -> tuple[pytest.RunResult, dict]:
    """``pytest conformance/ -k C2C-SEC-002`` in the core profile, as a vendor runs it; the run and the entry."""
    args = ["--connector", connector] if connector else []
    result, report = run_suite(pytester, "--c2c-seed", str(seed), "--c2c-profile", "core", "-k", "C2C-SEC-002", *args)
    return result, outcome(report, "C2C-SEC-002")


def assert_failed_at_its_ages(pytester: pytest.Pytester, name: str, seed: int) -> None:
    result, entry = sec_002(pytester, seed, f"tests.broken_connectors.{name}:build")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-2000:]
    assert entry["outcome"] == "fail", entry
    failure = entry["failure"]
    ages = Counter(f["detail"].split(" after it was sent")[0].removeprefix("replayed ") for f in failure["findings"])
    assert set(ages) == set(LET_IN[name]), ages  # every finding names an age, and only the ages it let in
    for age in LET_IN[name]:
        assert f"{age} old: " in failure["summary"], failure["summary"]
    assert failure["summary"].endswith(f"every replay {REFUSED_FROM[name]} old or older was refused"), failure["summary"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LET_IN))
def test_a_wide_tolerance_fails_sec_002_naming_the_ages_it_let_in(pytester: pytest.Pytester, name: str) -> None:
    assert_failed_at_its_ages(pytester, name, 1)


@pytest.mark.slow
def test_one_replay_at_fifteen_minutes_would_let_a_ten_minute_tolerance_through() -> None:
    """Why several ages: the single age the scenario used to send is refused by a 10-minute tolerance."""
    shipped = load_scenario(SCENARIOS / "attacks.yaml")
    webhooks = shipped.faults.webhooks.model_copy(update={"replay_after_seconds": [900.0]})
    single = shipped.model_copy(update={"faults": shipped.faults.model_copy(update={"webhooks": webhooks})})
    answers: Counter = Counter()

    def keep(record: dict) -> None:
        if record["kind"] == "attack" and record["attack"] == "replayed":
            answers[(record["age_s"], record["status"])] += 1

    simulate(single, 1, sink=keep, factory=ten_minute_tolerance.build)
    assert answers and {age for age, _ in answers} == {900.0}
    assert all(400 <= status < 500 for _, status in answers), answers
    answers.clear()
    simulate(shipped, 1, sink=keep, factory=ten_minute_tolerance.build)
    let_in = {age for (age, status), _ in answers.items() if 200 <= status < 300}
    assert {age for age in let_in if age > TIMESTAMP_TOLERANCE_S} == {330.0, 420.0}, answers


@pytest.mark.thorough
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(LET_IN))
def test_a_wide_tolerance_fails_sec_002_on_every_seed(pytester: pytest.Pytester, name: str, seed: int) -> None:
    assert_failed_at_its_ages(pytester, name, seed)


@pytest.mark.thorough
@pytest.mark.parametrize("seed", SEEDS)
def test_the_reference_refuses_every_stale_replay_on_every_seed(pytester: pytest.Pytester, seed: int) -> None:
    result, entry = sec_002(pytester, seed)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert entry["outcome"] == "pass", entry
