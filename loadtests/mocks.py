"""The mock systems' own APIs under load: the people and integrations that use them every day, as locust users.

Run headless, as a subprocess (``c2c load`` does; so can you, against ``c2c serve``)::

    locust -f loadtests/mocks.py --headless -u 20 -r 10 -t 60s --host http://127.0.0.1:8700

``--host`` is the server root (the systems live under ``/crm``, ``/clm``,
``/psa``, ``/erp``); ``C2C_CLIENT_ID`` and ``C2C_CLIENT_SECRET`` are the
OAuth2 client credentials every system's ``POST /{system}/oauth/token``
accepts. Who plays, and what each does:

- :class:`AccountManager` (CRM) pages through the accounts, opens one,
  signs up a new client (``POST /accounts`` with an ``Idempotency-Key``;
  one in four is resubmitted with the same key, as a double click does) and
  keeps master data current: a new address or tax id, sent with the
  ``If-Match`` of the copy just read; one in three then saves a second edit
  from that same screen, now stale, and must be refused with a 412.
- :class:`ContractsDesk` (CLM) lists contracts, reads one, one of its
  versions and its amendments.
- :class:`ResourceManager` (PSA) looks at the timesheets waiting for
  approval, reads one, and reads projects with their expenses and
  milestones.
- :class:`FinanceClerk` (ERP) lists invoices and reads one (its total must
  be its subtotal plus its tax), lists a billing project's charges and
  reads one, and the open periods.
- :class:`FeedFollower` is an integration: it reads every system's change
  feed (``GET /{system}/events``) from where it stopped, page by page,
  sometimes only the event types it cares about.

Only the account manager writes, and only to the CRM: new accounts and
account updates are work for the connector. Nothing here creates ERP
customers, billing projects, charges or invoices: a run ends by
reconciling the ERP against the firm's own records, and a write there
would be money nobody earned. A new account copies the currency and tax
jurisdiction of a client already set up in the ERP, so the connector can
bill it; an update changes only what the firm's own account managers
change (address, tax id).

What counts (locust's table, by method and name):

- an expected answer is a success: a 412 for a stale ``If-Match`` (naming
  the current version); for a resubmitted create, what the system's own
  OpenAPI document promises (a replay of the first answer,
  ``Idempotent-Replayed: true``, where it declares ``Idempotency-Key`` on
  that operation; a second, new account where it does not: the CRM
  ignores the header, as the connector guide says); a 410 on the change
  feed (the cursor fell out of retention: the follower reads on from the
  head, ``[410: resync from head]``);
- answers a careful client gets and handles are successes, counted under
  their own name: a 429 waits its ``Retry-After`` (at least 0.1 s) and
  tries again, for up to a minute (``[429: waited Retry-After]``); a 401
  fetches a new token and tries again once (``[401: new token]``); a 412
  on an edit sent with a fresh copy means someone else saved first:
  re-read, edit again (``[412: edited meanwhile]``);
- anything else is a failure, its message saying what was expected and
  what came: an unexpected status with the problem's type and detail, a
  stale ``If-Match`` accepted, a replay that is not one (or one that should
  not be), an ETag that does not name the version read, a contract version
  other than the one asked for, change-feed events out of order, an
  invoice whose total is not its subtotal plus tax. A 5xx or a dropped
  connection (a scenario's HTTP faults meet these users too when the
  connector is an external process) is a failure counted as
  ``[transient: retried]``, retried after its ``Retry-After`` (or 1 s) up to
  three times; the fourth is the answer.

Nothing here is imported by pytest or the simulator (locust patches
sockets and threads process-wide): it runs only as locust's locustfile.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import gevent
from locust import FastHttpUser, between, task
from locust.exception import RescheduleTask

CLIENT_ID = os.environ.get("C2C_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("C2C_CLIENT_SECRET", "")
SYSTEMS = ("crm", "clm", "psa", "erp")
TRANSIENT_RETRIES = 3  # a 5xx or a dropped connection is retried this many times, then it is the answer
TRANSIENT_WAIT_S = 1.0  # before retrying a 5xx without Retry-After, or a dropped connection
SHORTEST_WAIT_S = 0.1  # a Retry-After of 0 (served mode rounds down) still waits this long: no hammering
MOST_RATE_LIMITED_S = 60.0  # waiting on 429s longer than this for one request is a failure
PAGE = 50
FEED_PAGE = 100
MOST_PAGES = 5  # a person pages through at most this many pages in one go
CLIENT_NAMES = ("Harbor", "Juniper", "Meridian", "Northgate", "Oakline", "Summit", "Tidewater", "Westbrook")
SUFFIXES = ("Advisory Ltd.", "Partners LLC", "Holdings Inc.", "Group plc")
_resubmissions = itertools.count()


@dataclass
class Answer:
    """An expected answer: its status, headers (names in lower case) and JSON body (None when empty)."""

    status: int
    headers: dict[str, str]
    body: Any


Check = Callable[[Answer], "str | None"]  # what is wrong with an expected answer, or None


def _problem(content: bytes | None) -> str:
    """A problem document in a few words: its kind and detail (or the start of whatever came)."""
    try:
        problem = json.loads(content or b"")
        kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
        return f"{kind}: {problem.get('detail', '')}"[:200]
    except (ValueError, AttributeError):
        return (content or b"")[:120].decode(errors="replace")


class SystemsUser(FastHttpUser):
    """Someone with a login to the systems: a token per system, fetched when first needed and again after a 401.

    :meth:`call` sends one request and returns its answer when the status
    is one of ``expect`` and ``check`` finds nothing wrong with it. It
    retries what a careful client retries: a 429 after its ``Retry-After``
    (for up to :data:`MOST_RATE_LIMITED_S` in all), a 401 once with a new
    token, a 5xx or a dropped connection up to :data:`TRANSIENT_RETRIES`
    times. Anything else is counted as a failure and ends the task
    (``RescheduleTask``: the user waits and picks its next task).
    """

    abstract = True
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.tokens: dict[str, str] = {}

    def token(self, system: str) -> str:
        if system not in self.tokens:
            form = urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
            answer = self._send("POST", system, "/oauth/token", "/oauth/token", expect=(200,), data=form,
                                headers={"Content-Type": "application/x-www-form-urlencoded"},
                                unexpected=f"no token for client {CLIENT_ID!r} (set C2C_CLIENT_ID and C2C_CLIENT_SECRET)")
            self.tokens[system] = answer.body["access_token"]
        return self.tokens[system]

    def call(self, method: str, system: str, path: str, name: str, *, expect: tuple[int, ...] = (200,),
             body: Any = None, headers: dict[str, str] | None = None, check: Check | None = None,
             named: dict[int, str] | None = None) -> Answer:
        """``method /{system}{path}`` with the system's token, counted as ``/{system}{name}`` (``named``: the suffix
        an expected status is counted under, apart)."""
        return self._send(method, system, path, name, expect=expect, body=body, headers=headers, check=check,
                          named=named, authorized=True)

    def _send(self, method: str, system: str, path: str, name: str, *, expect: tuple[int, ...],
              body: Any = None, data: str | None = None, headers: dict[str, str] | None = None,
              check: Check | None = None, named: dict[int, str] | None = None, authorized: bool = False,
              unexpected: str = "") -> Answer:
        label = f"/{system}{name}"
        rate_limited_s, transients, renewed = 0.0, 0, False
        while True:
            sent = dict(headers or {})
            if authorized:
                sent["Authorization"] = f"Bearer {self.token(system)}"
            with self.client.request(method, f"/{system}{path}", name=label, json=body, data=data, headers=sent,
                                     catch_response=True) as answer:
                status = answer.status_code
                got = {k.lower(): v for k, v in (answer.headers or {}).items()}
                what = f"connection dropped ({getattr(answer, 'error', None)!r})" if status == 0 else \
                    f"{status} {_problem(answer.content)}"
                if status in expect:
                    result = Answer(status, got, json.loads(answer.content) if answer.content else None)
                    wrong = check(result) if check is not None else None
                    if wrong:
                        answer.failure(f"{method} {label}: {wrong}")
                        raise RescheduleTask()
                    if named and status in named:
                        answer.request_meta["name"] = f"{label} {named[status]}"
                    answer.success()
                    return result
                wait = float(got.get("retry-after") or TRANSIENT_WAIT_S)
                if status == 401 and authorized and not renewed:
                    answer.request_meta["name"] = f"{label} [401: new token]"
                    answer.success()
                    self.tokens.pop(system, None)
                    renewed, wait = True, 0.0
                elif status == 429 and rate_limited_s < MOST_RATE_LIMITED_S:
                    answer.request_meta["name"] = f"{label} [429: waited Retry-After]"
                    answer.success()
                    wait = max(wait, SHORTEST_WAIT_S)
                    rate_limited_s += wait
                elif (status == 0 or status >= 500) and transients < TRANSIENT_RETRIES:
                    answer.request_meta["name"] = f"{label} [transient: retried]"
                    answer.failure(f"{method} {label}: {what}")
                    transients += 1
                else:
                    given_up = f" (after {transients} retries)" if transients else \
                        f" (after {rate_limited_s:.0f} s of Retry-After waits)" if status == 429 else ""
                    answer.failure(f"{method} {label}: {unexpected or 'expected ' + ' or '.join(map(str, expect))}, "
                                   f"got {what}{given_up}")
                    raise RescheduleTask()
            if wait:
                gevent.sleep(wait)

    def every_page(self, system: str, collection: str, name: str, query: str = "", pages: int = MOST_PAGES) -> list[dict]:
        """The records of a list, following ``next_cursor`` for at most ``pages`` pages."""
        records: list[dict] = []
        cursor = None
        for _ in range(pages):
            params = f"limit={PAGE}" + (f"&{query}" if query else "") + (f"&cursor={quote(cursor)}" if cursor else "")
            page = self.call("GET", system, f"{collection}?{params}", name).body
            records += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return records


def _names_its_version(answer: Answer) -> str | None:
    etag, version = answer.headers.get("etag"), answer.body.get("version")
    return None if etag == f'"{version}"' else f"ETag {etag} does not name version {version}"


class AccountManager(SystemsUser):
    """Looks after the firm's clients in the CRM: the only user that writes, and only there."""

    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.accounts: list[str] = []
        self.setups: list[dict] = []  # ERP customers: the currency and tax jurisdiction of clients the ERP bills
        self.replays: bool | None = None  # whether the CRM's OpenAPI document promises a replay of a resubmitted create

    @task(4)
    def browse_accounts(self) -> None:
        """Pages through the account list."""
        self.accounts = [a["id"] for a in self.every_page("crm", "/accounts", "/accounts")]

    @task(6)
    def open_account(self) -> None:
        """Opens one account; its ``ETag`` names its version."""
        if self.accounts:
            self.call("GET", "crm", f"/accounts/{random.choice(self.accounts)}", "/accounts/{id}",
                      check=_names_its_version)

    @task(1)
    def sign_up_client(self) -> None:
        """Creates an account for a new client, with an ``Idempotency-Key``. One in four is sent again with the same
        key (a double click): the second answer must be what the CRM's OpenAPI document promises."""
        setup = self._billing_setup()
        if setup is None:
            return
        tag = uuid.uuid4().hex[:8]
        country = setup["billing_address"]["country"]
        account = {
            "legal_name": f"{random.choice(CLIENT_NAMES)} {tag} {random.choice(SUFFIXES)}",
            "billing_country": country, "currency": setup["currency"], "tax_id": _tax_id(),
            "tax_jurisdiction": setup["tax_jurisdiction"],
            "billing_address": {"line1": f"{random.randint(1, 999)} Market Street", "city": "Springfield",
                                "postal_code": str(random.randint(10000, 99999)), "country": country},
        }
        key = {"Idempotency-Key": f"signup-{tag}"}
        first = self.call("POST", "crm", "/accounts", "/accounts", expect=(201,), body=account, headers=key)
        self.accounts.append(first.body["id"])
        if next(_resubmissions) % 4:
            return
        replays = self._replays_creates()

        def as_promised(second: Answer) -> str | None:
            replayed = second.headers.get("idempotent-replayed") == "true" and second.body["id"] == first.body["id"]
            if replays and not replayed:
                return f"Idempotency-Key is declared, but {first.body['id']} was not replayed (got {second.body['id']})"
            if not replays and replayed:
                return "replayed a create although the OpenAPI document declares no Idempotency-Key"
            return None

        second = self.call("POST", "crm", "/accounts", "/accounts (resubmitted with the same key)", expect=(200, 201),
                           body=account, headers=key, check=as_promised)
        if second.body["id"] not in self.accounts:
            self.accounts.append(second.body["id"])

    @task(2)
    def correct_master_data(self) -> None:
        """Reads an account and saves a new address or tax id with its ``If-Match`` (someone saving first is a 412:
        read again, edit again). One in three then saves another edit from the same screen, now stale: that must be
        a 412 naming the current version, and change nothing."""
        if not self.accounts:
            return
        account_id = random.choice(self.accounts)
        for _ in range(3):
            account = self.call("GET", "crm", f"/accounts/{account_id}", "/accounts/{id}", check=_names_its_version)
            etag = account.headers["etag"]
            saved = self.call("PATCH", "crm", f"/accounts/{account_id}", "/accounts/{id}", expect=(200, 412),
                              body=_edit(account.body), headers={"If-Match": etag},
                              named={412: "[412: edited meanwhile]"})
            if saved.status == 200:
                break
        else:
            return
        if random.random() >= 1 / 3:
            return

        def refused(stale: Answer) -> str | None:
            if stale.status != 412:
                return f"a save with the stale If-Match {etag} was accepted ({stale.status})"
            current = stale.body.get("current_version")
            return None if isinstance(current, int) and current >= saved.body["version"] else \
                f"the 412 names current_version {current}, not {saved.body['version']} or later"

        self.call("PATCH", "crm", f"/accounts/{account_id}", "/accounts/{id} (stale If-Match)", expect=(412, 200),
                  body=_edit(saved.body), headers={"If-Match": etag}, check=refused)

    def _billing_setup(self) -> dict | None:
        """An ERP customer (its currency, tax jurisdiction and country), None while the ERP bills nobody."""
        if not self.setups:
            self.setups = self.call("GET", "erp", f"/customers?limit={PAGE}", "/customers").body["data"]
        return random.choice(self.setups) if self.setups else None

    def _replays_creates(self) -> bool:
        """Whether the CRM's OpenAPI document declares ``Idempotency-Key`` on ``POST /accounts`` (read once)."""
        if self.replays is None:
            with self.client.get("/crm/openapi.json", name="/crm/openapi.json", catch_response=True) as answer:
                if answer.status_code != 200:
                    answer.failure(f"GET /crm/openapi.json: {answer.status_code} {_problem(answer.content)}")
                    raise RescheduleTask()
                operation = json.loads(answer.content)["paths"]["/accounts"]["post"]
                self.replays = any(p.get("name", "").lower() == "idempotency-key" for p in operation.get("parameters", []))
        return self.replays


def _tax_id() -> str:
    return f"{random.randint(10, 99)}-{random.randint(10**6, 10**7 - 1)}"


def _edit(account: dict) -> dict:
    """What the firm's account managers change: the address (the same country) or the tax id."""
    if random.random() < 0.7:
        return {"billing_address": {**account["billing_address"], "line1": f"{random.randint(1, 999)} Harbour Road"}}
    return {"tax_id": _tax_id()}


class ContractsDesk(SystemsUser):
    """Reads contracts in the CLM: the list, one contract and one of its versions, its amendments."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.contracts: list[str] = []

    @task(2)
    def browse_contracts(self) -> None:
        self.contracts = [c["id"] for c in self.every_page("clm", "/contracts", "/contracts")]

    @task(4)
    def read_contract_and_a_version(self) -> None:
        if not self.contracts:
            return
        contract = self.call("GET", "clm", f"/contracts/{random.choice(self.contracts)}", "/contracts/{id}",
                             check=_names_its_version).body
        version = random.randint(1, contract["version"])
        self.call("GET", "clm", f"/contracts/{contract['id']}/versions/{version}", "/contracts/{id}/versions/{n}",
                  check=lambda terms: None if terms.body.get("version") == version else
                  f"asked for version {version} of {contract['id']}, got {terms.body.get('version')}")

    @task(1)
    def read_amendments(self) -> None:
        if self.contracts:
            self.call("GET", "clm", f"/contracts/{random.choice(self.contracts)}/amendments?limit={PAGE}",
                      "/contracts/{id}/amendments")


class ResourceManager(SystemsUser):
    """Follows delivery in the PSA: timesheets waiting for approval, projects, their expenses and milestones."""

    weight = 2

    def on_start(self) -> None:
        super().on_start()
        self.projects: list[str] = []

    @task(3)
    def review_waiting_timesheets(self) -> None:
        waiting = self.call("GET", "psa", f"/timesheets?status=submitted&limit={PAGE}",
                            "/timesheets?status=submitted").body["data"]
        if waiting:
            self.call("GET", "psa", f"/timesheets/{random.choice(waiting)['id']}", "/timesheets/{id}")

    @task(2)
    def browse_projects(self) -> None:
        self.projects = [p["id"] for p in self.every_page("psa", "/projects", "/projects")]

    @task(3)
    def look_into_a_project(self) -> None:
        if not self.projects:
            return
        project_id = random.choice(self.projects)
        self.call("GET", "psa", f"/projects/{project_id}", "/projects/{id}")
        self.call("GET", "psa", f"/expenses?project_id={project_id}&limit={PAGE}", "/expenses?project_id=")
        self.call("GET", "psa", f"/milestones?project_id={project_id}&limit={PAGE}", "/milestones?project_id=")


def _adds_up(answer: Answer) -> str | None:
    invoice = answer.body
    if invoice["total"] == invoice["subtotal"] + invoice["tax_total"]:
        return None
    return f"{invoice['id']}: total {invoice['total']} is not subtotal {invoice['subtotal']} + tax {invoice['tax_total']}"


class FinanceClerk(SystemsUser):
    """Works in the ERP, reading only: invoices and credit notes, a billing project's charges, the open periods."""

    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.invoices: list[str] = []
        self.billing_projects: list[str] = []
        self.charges: list[str] = []

    @task(3)
    def list_invoices(self) -> None:
        query = random.choice(("", "status=posted", "document_type=credit_note"))
        name = "/invoices" + (f"?{query.split('=')[0]}=" if query else "")
        invoices = self.every_page("erp", "/invoices", name, query, pages=2)
        self.invoices = [i["id"] for i in invoices] or self.invoices
        self.billing_projects = sorted({i["billing_project_id"] for i in invoices}) or self.billing_projects

    @task(4)
    def read_invoice(self) -> None:
        if self.invoices:
            self.call("GET", "erp", f"/invoices/{random.choice(self.invoices)}", "/invoices/{id}", check=_adds_up)

    @task(2)
    def list_a_projects_charges(self) -> None:
        if not self.billing_projects:
            projects = self.call("GET", "erp", f"/billing-projects?limit={PAGE}", "/billing-projects").body["data"]
            self.billing_projects = [p["id"] for p in projects]
            if not self.billing_projects:
                return
        project_id = random.choice(self.billing_projects)
        charges = self.call("GET", "erp", f"/charges?billing_project_id={project_id}&limit={PAGE}",
                            "/charges?billing_project_id=").body["data"]
        self.charges = [c["id"] for c in charges] or self.charges

    @task(2)
    def read_charge(self) -> None:
        if self.charges:
            self.call("GET", "erp", f"/charges/{random.choice(self.charges)}", "/charges/{id}")

    @task(1)
    def check_open_periods(self) -> None:
        self.call("GET", "erp", f"/periods?limit={PAGE}", "/periods")


class FeedFollower(SystemsUser):
    """An integration that follows every system's change feed from where it stopped (``GET /{system}/events``)."""

    weight = 1
    ACTED_ON = {"crm": "crm.account.created,crm.account.updated", "clm": "clm.contract.signed,clm.contract.amended",
                "psa": "psa.timesheet.approved,psa.expense.approved", "erp": "erp.invoice.posted,erp.credit_note.posted"}

    def on_start(self) -> None:
        super().on_start()
        self.cursors = {system: "" for system in SYSTEMS}  # "": from the start
        self.turn = itertools.cycle(SYSTEMS)

    @task(3)
    def catch_up(self) -> None:
        """Reads the next system's feed on from its cursor, up to five pages."""
        self._read(next(self.turn), filtered=False)

    @task(1)
    def catch_up_on_what_matters(self) -> None:
        """The same, keeping only the event types an integration acts on (the cursor still moves past the rest)."""
        self._read(next(self.turn), filtered=True)

    def _read(self, system: str, filtered: bool) -> None:
        name = "/events?types=" if filtered else "/events"
        for _ in range(MOST_PAGES):
            after = int(self.cursors[system] or 0)
            query = f"limit={FEED_PAGE}&after={self.cursors[system]}" + (f"&types={self.ACTED_ON[system]}" if filtered else "")

            def moves_on(page: Answer, after: int = after) -> str | None:
                if page.status == 410:
                    return None if "head_cursor" in page.body else "a 410 without head_cursor"
                cursors = [int(event["cursor"]) for event in page.body["data"]]
                if cursors != sorted(cursors) or any(c <= after for c in cursors) or int(page.body["next_cursor"]) < after:
                    return f"events out of order after cursor {after}: {cursors[:5]}..., next {page.body['next_cursor']}"
                return None

            page = self.call("GET", system, f"/events?{query}", name, expect=(200, 410), check=moves_on,
                             named={410: "[410: resync from head]"})
            if page.status == 410:  # the cursor fell out of retention: read on from the head
                self.cursors[system] = page.body["head_cursor"]
                return
            self.cursors[system] = page.body["next_cursor"]
            if len(page.body["data"]) < FEED_PAGE:  # caught up: a short page scanned to the head
                return
