"""Benchmarks: run with ``pytest -m benchmark_suite --benchmark-enable``.

Absolute speeds depend on the machine, so the only assertion is a ratio taken
within one test run: connector calls per wall second of the simulated baseline
against calls per second of a bare ``httpx.MockTransport`` loop. The simulation
does far more than serve calls (simpy, the firm, the mocks, the oracle), so the
ratio is well below 1; the bound only catches a gross slowdown.

Measured on the 2-core reference machine (10 runs under pytest): MockTransport
~11,500-12,400 calls/s; baseline (seed 1) 6,400-7,200 connector calls in 1.5-2.1 s,
~3,500-4,250 calls per wall second; ratio 0.30-0.36, with one noisy run at 0.25.
"""

from __future__ import annotations

import time

import httpx
import pytest

from simulator.run import SimulationResult, simulate

pytestmark = pytest.mark.benchmark_suite

CALLS = 2000
MIN_RATIO = 0.15  # under half the typical ratio (~0.34) measured on the reference machine


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": "tsl_000001", "status": "approved", "hours": "7.50"})


def mock_transport_loop(calls: int = CALLS) -> float:
    """Seconds taken by ``calls`` GETs through one client on a bare MockTransport."""
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        started = time.perf_counter()
        for _ in range(calls):
            response = client.get("http://psa.c2c.test/v1/timesheet-lines/tsl_000001")
            assert response.json()["status"] == "approved"
        return time.perf_counter() - started


def bare_loop_rate() -> float:
    """The bare loop's calls a second: the best of three :func:`mock_transport_loop` runs."""
    return max(CALLS / mock_transport_loop() for _ in range(3))


def test_bare_mock_transport_reference(benchmark) -> None:
    elapsed = benchmark.pedantic(mock_transport_loop, rounds=3, iterations=1)
    benchmark.extra_info["calls"] = CALLS
    benchmark.extra_info["calls_per_second"] = round(CALLS / elapsed)
    assert elapsed > 0


def test_baseline_simulation_speed(benchmark, baseline) -> None:
    # the reference loop first, in this same test, so the ratio compares one run on one machine state
    mock_rate = bare_loop_rate()

    timings: list[float] = []
    results: list[SimulationResult] = []

    def run() -> None:
        started = time.perf_counter()
        results.append(simulate(baseline, seed=1))
        timings.append(time.perf_counter() - started)

    benchmark.pedantic(run, rounds=2, iterations=1)  # runs once under --benchmark-disable

    result = results[-1]
    assert result.total_api_calls > 0
    assert result.reconciliation.ok, result.reconciliation.mismatches[:5]
    sim_rate = result.total_api_calls / min(timings)
    ratio = sim_rate / mock_rate
    benchmark.extra_info.update({
        "simulated_api_calls": result.total_api_calls,
        "simulation_wall_seconds": round(min(timings), 3),
        "simulated_calls_per_wall_second": round(sim_rate),
        "mock_transport_calls_per_second": round(mock_rate),
        "ratio": round(ratio, 3),
        "min_ratio": MIN_RATIO,
    })
    assert ratio >= MIN_RATIO, (
        f"simulated connector calls/s {sim_rate:.0f} is {ratio:.2f}x a bare MockTransport's {mock_rate:.0f} calls/s; "
        f"expected at least {MIN_RATIO}x"
    )
