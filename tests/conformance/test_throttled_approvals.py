"""C2C-LOAD-001 throttles the connector while approvals flow, so mishandled throttling shows as lag.

``load.yaml`` used to rate-limit the ERP at 20 requests a second: at a
2,000-consultant firm's peak (about 300 webhooks an hour) that bound only
during the billing run and the reconciliation, never while approvals
flowed, which is what LOAD-001 times. A connector that puts throttled
charge posts off for four hours (``parks_throttled_charges``) passed. The
ERP now grants the connector 6 requests a minute, 2 at once: 429s are
answered in the peak approval hours, that connector's approvals reach the
ERP hours late, and a run without a 429 in those hours fails as not shown.
"""

from __future__ import annotations

import pytest

from conformance.checks.load import P95_MINUTES, lag_under_load, peak_approval_hours
from conformance.observation import SCENARIOS, observe
from simulator.scenario import RateLimit, load_scenario
from tests.broken_connectors import parks_throttled_charges
from tests.conformance.test_suite import outcome, run_suite

pytest_plugins = ["pytester"]

SEEDS = (1, 2, 3)
DEFECT = "tests.broken_connectors.parks_throttled_charges:build"
THROTTLING_NOT_SHOWN = "scenario:429s_in_peak_approval_hours"


def load_001(pytester: pytest.Pytester, seed: int, connector: str | None = None) -> tuple[pytest.RunResult, dict]:
    """``pytest conformance/ -k C2C-LOAD-001`` in the core profile, as a vendor runs it; the run and the entry."""
    args = ["--connector", connector] if connector else []
    result, report = run_suite(pytester, "--c2c-seed", str(seed), "--c2c-profile", "core", "-k", "C2C-LOAD-001", *args)
    return result, outcome(report, "C2C-LOAD-001")


def assert_late_approvals_fail_it(pytester: pytest.Pytester, seed: int) -> None:
    result, entry = load_001(pytester, seed, DEFECT)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-2000:]
    assert entry["outcome"] == "fail", entry
    findings = entry["failure"]["findings"]
    lag = [f for f in findings if f["item"] == "psa:approval_to_erp_charge/p95"]
    assert lag, findings  # late: and since each drain stops at its first 429, work parked for 4 hours at a time
    assert int(lag[0]["actual"].removesuffix(" min")) > P95_MINUTES, lag  # may also be left unbilled at the end
    # a 429 answered to the reference's own calls does not crash a delivery (a GET without its ETag once did)
    assert "connector receive" not in {f["item"] for f in findings}, findings


@pytest.mark.slow
def test_putting_throttled_charges_off_fails_load_001(pytester: pytest.Pytester) -> None:
    assert_late_approvals_fail_it(pytester, 1)


@pytest.mark.thorough
@pytest.mark.parametrize("seed", SEEDS)
def test_putting_throttled_charges_off_fails_load_001_on_every_seed(pytester: pytest.Pytester, seed: int) -> None:
    assert_late_approvals_fail_it(pytester, seed)


@pytest.mark.thorough
@pytest.mark.parametrize("seed", SEEDS)
def test_the_reference_keeps_its_lag_while_throttled_on_every_seed(pytester: pytest.Pytester, seed: int) -> None:
    result, entry = load_001(pytester, seed)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert entry["outcome"] == "pass", entry


@pytest.mark.slow
def test_under_the_old_limit_throttling_missed_the_approvals_and_the_defect() -> None:
    """20 requests a second, as load.yaml had: no 429 in the peak approval hours, and the defect's lag looks fine."""
    path = SCENARIOS / "load.yaml"
    shipped = load_scenario(path)
    old = shipped.model_copy(update={"faults": shipped.faults.model_copy(
        update={"rate_limits": {"erp": RateLimit(per_second=20, burst=40)}})})
    run = observe(old, path, 1, parks_throttled_charges.build)
    assert peak_approval_hours(run) and not any(run.throttled_per_hour[h] for h in peak_approval_hours(run))
    evidence = lag_under_load(run)
    assert [f.item for f in evidence.findings] == [THROTTLING_NOT_SHOWN], evidence.findings
