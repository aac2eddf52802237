"""How c2c load runs locust (always as a subprocess) and reads what it wrote; no locust is started here."""

from __future__ import annotations

from pathlib import Path

from simulator.locust_run import LoadProfile, LocustRun

STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
POST,/psa/timesheets,120,2,7,9.1,1,80,400,8.0,0.1,7,8,9,10,20,30,40,50,80,80,80
,Aggregated,480,3,5,7.2,0,160,300,32.0,0.2,5,6,7,8,15,25,35,45,160,160,160
"""


def test_the_profile_reaches_the_locustfile_as_environment_variables():
    env = LoadProfile(40, 8, 30, "step", step_users=10, step_s=5).environment()
    assert env == {"C2C_LOAD_PROFILE": "step", "C2C_LOAD_USERS": "40", "C2C_LOAD_SPAWN_RATE": "8",
                   "C2C_LOAD_DURATION_S": "30", "C2C_LOAD_STEP_S": "5", "C2C_LOAD_STEP_USERS": "10"}


def test_one_process_is_headless_with_csv_and_html(tmp_path: Path):
    run = LocustRun(Path("loadtests/end_to_end.py"), "http://127.0.0.1:1", LoadProfile(10, 5, 20), tmp_path / "locust")
    arguments = run.master_arguments()
    assert "--headless" in arguments and "--csv" in arguments and "--html" in arguments
    assert arguments[arguments.index("-t") + 1] == "20s"


def test_totals_come_from_the_aggregated_row(tmp_path: Path):
    (tmp_path / "locust_stats.csv").write_text(STATS)
    run = LocustRun(Path("x.py"), "http://h", LoadProfile(1, 1, 1), tmp_path / "locust")
    totals = run.totals()
    assert (totals.requests, totals.failures, totals.requests_per_s, totals.p95_ms) == (480, 3, 32.0, 25.0)
    assert totals.failure_ratio == 3 / 480


def test_no_csv_means_no_totals(tmp_path: Path):
    assert LocustRun(Path("x.py"), "http://h", LoadProfile(1, 1, 1), tmp_path / "locust").totals() is None
