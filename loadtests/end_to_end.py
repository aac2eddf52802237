"""The integration under load: consultants log their hours, managers approve them, finance follows the ERP.

Run by ``c2c load`` (headless, as a subprocess), against the systems of a
firm it has prepared from a scenario: contracts signed, projects set up by
the connector under test, consultants staffed. While this runs, the firm's
calendar moves in real time, and every approval the PSA records becomes a
webhook to the connector, which must turn it into ERP charges.

- A **consultant** is staffed on a project (the PSA's assignments). Again
  and again, they log a day's hours on it, a line per day in quarter
  hours, billable if the project bills by the hour, and submit the sheet.
- A **manager** looks at the sheets waiting for approval and approves
  their team's, oldest first. The consultants are split into one team
  per manager (by resource id), so two managers do not race to approve
  the same sheet. Where not every manager is sure to be at work in this
  process (a distributed run, whose workers cannot tell their managers'
  teams apart; fewer users than the managers and clerk need; users
  joining in steps), each manager approves every sheet they see, and a
  409 (another took it first) is part of the job.
- A **finance clerk** follows what reaches the ERP: unbilled charges and
  the invoices of the period.

The pace is set by :class:`FirmDay`: steady (every consultant at work from
the start) or in steps (more consultants join every step), from the
``C2C_LOAD_*`` variables ``c2c load`` sets. Everything a user needs comes
from the environment and the systems themselves: ``--host`` (the systems
under ``/crm``, ``/clm``, ``/psa``, ``/erp``), ``C2C_CLIENT_ID`` and
``C2C_CLIENT_SECRET``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
import zlib

from locust import FastHttpUser, LoadTestShape, between, constant_pacing, task
from locust.runners import WorkerRunner

CLIENT_ID = os.environ.get("C2C_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("C2C_CLIENT_SECRET", "")
HOURLY = ("time_and_materials", "capped_tm")
_numbers = itertools.count()
TODAY = dt.date.fromisoformat(os.environ.get("C2C_LOAD_DAY") or dt.date.today().isoformat())  # the firm's date


MANAGERS, CLERKS = 3, 1  # however many consultants: the rest of the users are consultants


def _setting(name: str, default: float) -> float:
    value = os.environ.get(f"C2C_LOAD_{name}")
    return float(value) if value else default


class FirmUser(FastHttpUser):
    """Someone at the firm with a login: a token per system, fetched once and again after a 401."""

    abstract = True

    def on_start(self) -> None:
        self.tokens: dict[str, str] = {}

    def token(self, system: str) -> str:
        if system not in self.tokens:
            with self.client.post(f"/{system}/oauth/token", data={
                    "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                    name=f"/{system}/oauth/token", catch_response=True) as answer:
                if answer.status_code != 200:
                    answer.failure(f"no token from {system}: {answer.status_code}")
                    raise RuntimeError(f"no token from {system}")
                self.tokens[system] = answer.json()["access_token"]
        return self.tokens[system]

    def call(self, method: str, system: str, path: str, name: str, *, expect: tuple[int, ...] = (200,),
             json: object = None) -> dict | None:
        """One request with the system's token: an expected status is a success, a 429 waits its
        ``Retry-After`` and tries again, a 401 fetches a new token and tries again; anything else fails."""
        for _ in range(5):
            headers = {"Authorization": f"Bearer {self.token(system)}"}
            with self.client.request(method, f"/{system}{path}", name=f"/{system}{name}", json=json, headers=headers,
                                     catch_response=True) as answer:
                if answer.status_code in expect:
                    answer.success()
                    return answer.json() if answer.content else {}
                if answer.status_code == 401:
                    self.tokens.pop(system, None)
                    answer.success()
                    continue
                if answer.status_code == 429:
                    answer.success()
                    self.wait_seconds(float(answer.headers.get("Retry-After") or 1))
                    continue
                answer.failure(f"{method} /{system}{name}: {answer.status_code} {answer.text[:200]}")
                return None
        return None

    def wait_seconds(self, seconds: float) -> None:
        import gevent
        gevent.sleep(seconds)

    def every(self, system: str, path: str, name: str) -> list[dict]:
        """Every record of a list, page after page."""
        records: list[dict] = []
        cursor = None
        while True:
            page = self.call("GET", system, path + (f"&cursor={cursor}" if cursor else ""), name)
            if page is None:
                return records
            records += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return records


STARTED = time.monotonic()  # this process's start: the step profile's clock


def _consultants() -> int:
    return max(1, int(_setting("USERS", 10)) - MANAGERS - CLERKS)


def _rate_now() -> float:
    """Timesheets a second, all consultants together, at this moment: ``C2C_LOAD_RATE``, or with the step profile
    ``C2C_LOAD_STEP_RATE`` more every ``C2C_LOAD_STEP_S`` seconds, up to ``C2C_LOAD_RATE``."""
    rate = _setting("RATE", 0)
    step = _setting("STEP_RATE", 0)
    if step and os.environ.get("C2C_LOAD_PROFILE") == "step":
        return min(rate, step * (1 + int((time.monotonic() - STARTED) // _setting("STEP_S", 10))))
    return rate


def consultant_pace(user: FastHttpUser) -> float:
    """Seconds until this consultant's next sheet: one a second each, or their share of the rate right now."""
    rate = _rate_now()
    return constant_pacing(_consultants() / rate if rate else 1.0)(user)


class Consultant(FirmUser):
    """Logs a day's hours on the project they are staffed on, and submits the sheet."""

    wait_time = consultant_pace

    def on_start(self) -> None:
        super().on_start()
        self.work = self._staffing()

    def _staffing(self) -> dict | None:
        """One of the firm's assignments that runs today, preferably on a project billed by the hour (the work
        this load is about), with what the consultant knows of it: role, task, whether it is billable."""
        today = TODAY.isoformat()
        assignments = [a for a in self.every("psa", "/assignments?limit=500", "/assignments")
                       if a["start_date"] <= today <= a["end_date"]]
        if not assignments:
            return None
        first = next(_numbers) + os.getpid()  # workers on other processes start elsewhere in the list
        work = None
        for n in range(min(len(assignments), 10)):
            assignment = assignments[(first + 7 * n) % len(assignments)]
            resource = self.call("GET", "psa", f"/resources/{assignment['resource_id']}", "/resources/{id}")
            project = self.call("GET", "psa", f"/projects/{assignment['project_id']}", "/projects/{id}")
            if resource is None or project is None or not project["tasks"]:
                continue
            contract = self.call("GET", "clm", f"/contracts/{project['contract_ref']}", "/contracts/{id}")
            work = {"resource_id": assignment["resource_id"], "project_id": project["id"],
                    "task_id": project["tasks"][0]["id"], "role": resource["role"],
                    "billable": contract is not None and contract["billing_type"] in HOURLY}
            if work["billable"]:
                return work
        return work

    @task
    def log_a_day(self) -> None:
        if self.work is None:
            return
        monday = TODAY - dt.timedelta(days=TODAY.weekday())
        hours = random.choice(["4", "6", "7.5", "8", "8.25"])
        sheet = self.call("POST", "psa", "/timesheets", "/timesheets", expect=(201,), json={
            "resource_id": self.work["resource_id"], "week_start": monday.isoformat(),
            "lines": [{"date": TODAY.isoformat(), "project_id": self.work["project_id"],
                       "task_id": self.work["task_id"], "role": self.work["role"], "hours": hours,
                       "billable": self.work["billable"]}]})
        if sheet is not None:
            self.call("POST", "psa", f"/timesheets/{sheet['id']}/submit", "/timesheets/{id}/submit")


def team_of(resource_id: str) -> int:
    """The team (0 to MANAGERS - 1) a consultant belongs to, the same in every process."""
    return zlib.crc32(resource_id.encode()) % MANAGERS


def teams_split(distributed: bool) -> bool:
    """Whether every manager is at work in this process from the start, so that each may keep to their team."""
    steps_of_users = os.environ.get("C2C_LOAD_PROFILE") == "step" and not _setting("STEP_RATE", 0)
    return not distributed and not steps_of_users and int(_setting("USERS", 10)) > MANAGERS + CLERKS


class Manager(FirmUser):
    """Approves their team's sheets waiting for approval, oldest first, a page at a time (every sheet in a
    distributed run: see the module's docstring)."""

    fixed_count = MANAGERS
    wait_time = between(0.2, 0.5)
    _teams = itertools.count()

    def on_start(self) -> None:
        super().on_start()
        split = teams_split(isinstance(self.environment.runner, WorkerRunner))
        self.team = next(Manager._teams) % MANAGERS if split else None

    @task
    def approve_waiting_sheets(self) -> None:
        page = self.call("GET", "psa", "/timesheets?status=submitted&limit=100", "/timesheets?status=submitted")
        for sheet in (page or {}).get("data", []):
            if self.team is not None and team_of(sheet["resource_id"]) != self.team:
                continue
            # Another manager may still have taken it first: a 409 (no longer submitted) is part of the job.
            self.call("POST", "psa", f"/timesheets/{sheet['id']}/approve", "/timesheets/{id}/approve",
                      expect=(200, 409))


class FinanceClerk(FirmUser):
    """Follows what reaches the ERP: the unbilled charges and the period's invoices."""

    fixed_count = CLERKS
    wait_time = between(1, 2)

    @task(3)
    def look_at_unbilled_charges(self) -> None:
        self.call("GET", "erp", "/charges?status=unbilled&limit=100", "/charges?status=unbilled")

    @task(1)
    def look_at_invoices(self) -> None:
        self.call("GET", "erp", "/invoices?limit=50", "/invoices")


class FirmDay(LoadTestShape):
    """How many people are at work: steady (``C2C_LOAD_PROFILE=steady``: ``USERS`` from the start, joining
    ``SPAWN_RATE`` a second) or in steps (``step``: ``STEP_USERS`` more every ``STEP_S`` seconds, up to
    ``USERS``; with ``STEP_RATE`` the users are all there and their pace climbs instead), for ``DURATION_S``
    seconds."""

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed >= _setting("DURATION_S", 60):
            return None
        users, rate = int(_setting("USERS", 10)), _setting("SPAWN_RATE", 10)
        if os.environ.get("C2C_LOAD_PROFILE", "steady") == "step" and not _setting("STEP_RATE", 0):
            step = int(_setting("STEP_USERS", max(1, users // 5)))
            users = min(users, step * (1 + int(elapsed // _setting("STEP_S", 10))))
        return users, rate
