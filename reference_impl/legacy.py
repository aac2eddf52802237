"""The "legacy batch" connector: a deliberately brittle point-to-point integration.

**Do not copy this connector.** It exists so that architects can ask
*"what does moving from a nightly batch to an event-driven integration
save?"* (``c2c compare scenarios/legacy_batch.yaml scenarios/event_driven.yaml``)
and see the answer in money, days and disputes. It behaves like the nightly
scripts many firms really run between their CRM, CLM, PSA and ERP:

- **A nightly batch.** Every night at 02:00 (simulated time) it reads each
  system's change feed (``GET /events``) from a watermark kept in storage,
  1,000 events a page until a page comes back empty, and then works
  through the events it knows, one after the other, at the pace of a
  serial script that waits for every answer (:data:`SECONDS_PER_CALL`).
  It takes no webhooks (``subscriptions`` is empty; ``receive`` answers 204).
- **What it syncs.** CRM accounts become ERP customers (and account changes
  are copied over, last write wins); a signed CLM contract becomes an ERP
  billing project and a PSA project with its tasks (and milestones for a
  fixed-fee contract); an approved timesheet becomes one ERP charge per
  billable line, rated by work date; an approved expense is charged at
  cost plus the contract's markup; an approved milestone at its amount; a
  retainer is charged its fee for each ERP period opened that the batch
  sees in the feed; a posted invoice is written back to the PSA.
- **What it gets wrong, on purpose.** Contract terms are copied once, when
  the contract is set up: amendments (new rates, retroactive or not, cap
  raises, extensions, repriced milestones) never reach billing. Caps are
  not looked at: a capped contract bills everything. A timesheet adjusted
  after it was charged is charged again in full when it is re-approved,
  without reversing the first charge (the classic double bill). ``POST``\\s
  carry no ``Idempotency-Key`` and nothing is retried (beyond the API
  client's one token refresh), so a 5xx, a timeout or a 429 loses the item
  and a lost response can create a customer twice. There is no dead-letter
  queue: an item that fails is logged and skipped, and the watermark has
  moved on anyway. There is no reconciliation. Work approved after the
  night's run waits a day, and a charge is dated the night it was imported
  (ERP import interfaces post "today": a closed period takes no back-dated
  entries), so work approved on a month's last day is invoiced a month
  later. A retainer signed after its period opened is never charged for
  that period.

On a good day (plain time-and-materials work, no amendments, no
adjustments, no faults) it reconciles to the minor unit, which is exactly
why such scripts survive for years. ``tests/test_legacy_connector.py``
shows both sides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx

from reference_impl.api import ApiError, SystemClient
from reference_impl.rating import Unrateable, marked_up, milestone_amount, period_in_term, price, rate_for
from reference_impl.writeback import write_back_invoice

DAY_S = 86400
BATCH_HOUR = 2  # the nightly run starts at 02:00 simulated time
SECONDS_PER_CALL = 0.5  # a serial script waits for each answer before it sends the next request
FEED_PAGE = 1000
CUSTOMER_NAME_MAX = 40  # the ERP's customer name is shorter than the CRM's legal name
FEED_ORDER = ("crm", "clm", "psa", "erp")  # parents first: customers, then contracts, then work, then billing

# The events each nightly job knows; everything else in the feeds is passed over.
KNOWN_EVENTS = {
    "crm": ("crm.account.created", "crm.account.updated"),
    "clm": ("clm.contract.signed",),
    "psa": ("psa.timesheet.approved", "psa.expense.approved", "psa.milestone.approved"),
    "erp": ("erp.period.opened", "erp.invoice.posted", "erp.credit_note.posted"),
}


class Skipped(Exception):
    """An item the batch cannot handle (e.g. work on a project it never set up); logged and skipped."""


class _CountingClient(SystemClient):
    """The reference API client, counting requests so the batch can pace itself like a serial script."""

    def __init__(self, tally: list[int], *args: Any) -> None:
        super().__init__(*args)
        self._tally = tally

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self._tally[0] += 1
        return super().request(method, path, **kwargs)


class LegacyBatchConnector:
    """See the module docstring: a nightly batch, brittle by design. Not a connector to copy."""

    name = "legacy nightly batch (deliberately brittle)"
    subscriptions: frozenset[str] = frozenset()  # no webhooks: the harness sends it nothing

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.storage = runtime.storage
        self.log = runtime.log
        self._calls = [0]
        self.clients = {
            system: _CountingClient(self._calls, runtime.http, system, url, *runtime.credentials[system],
                                    runtime.clock.now)
            for system, url in runtime.urls.items()
        }
        self.handlers: dict[str, Callable[[str], None]] = {
            "crm.account.created": self.sync_customer,
            "crm.account.updated": self.update_customer,
            "clm.contract.signed": self.set_up_contract,
            "psa.timesheet.approved": self.charge_timesheet,
            "psa.expense.approved": self.charge_expense,
            "psa.milestone.approved": self.charge_milestone,
            "erp.period.opened": self.charge_retainers,
            "erp.invoice.posted": self.write_back_invoice,
            "erp.credit_note.posted": self.write_back_invoice,
        }
        self._job: Iterator[None] | None = None
        self._import_date = ""  # the date of tonight's run: every charge it imports carries it
        seconds_into_day = runtime.clock.now() % DAY_S
        runtime.scheduler.call_later((BATCH_HOUR * 3600 - seconds_into_day) % DAY_S, self._first_night)

    # -- the connector contract ----------------------------------------------------------
    def receive(self, delivery: Any) -> int:
        return 204  # it polls; webhooks are not its thing

    def close(self) -> None:
        return None

    # -- the nightly job ------------------------------------------------------------------
    def _first_night(self) -> None:
        self.runtime.scheduler.every(DAY_S, self.run_batch)
        self.run_batch()

    def run_batch(self) -> None:
        if self._job is not None:
            self.log.warning("legacy batch: last night's run is still going; skipping tonight")
            return
        self._job = self._batch()
        self._step()

    def _step(self) -> None:
        """Run the job up to its next request-bearing unit of work, then wait as long as those requests took."""
        assert self._job is not None
        before = self._calls[0]
        while self._calls[0] == before:
            try:
                next(self._job)
            except StopIteration:
                self._job = None
                return
        self.runtime.scheduler.call_later((self._calls[0] - before) * SECONDS_PER_CALL, self._step)

    def _batch(self) -> Iterator[None]:
        """Read every feed from its watermark, then handle what was read, system by system, event by event."""
        self._import_date = dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC).date().isoformat()
        tonight: dict[str, list[dict[str, Any]]] = {}
        for system in FEED_ORDER:
            tonight[system] = []
            yield from self._read_feed(system, tonight[system])
        handled = failed = 0
        for system in FEED_ORDER:
            seen: set[tuple[str, str]] = set()
            for event in tonight[system]:
                key = (event["type"], event["entity_id"])
                if key in seen:  # one run handles an entity once, from its current state
                    continue
                seen.add(key)
                try:
                    self.handlers[event["type"]](event["entity_id"])
                    handled += 1
                except (ApiError, Unrateable, Skipped, httpx.HTTPError) as exc:
                    failed += 1  # no retry, no dead-letter queue: logged, skipped, gone
                    self.log.warning("legacy batch: %s %s failed and is skipped: %s", event["type"],
                                     event["entity_id"], exc)
                yield
        self.log.info("legacy batch done: %d items handled, %d failed", handled, failed)

    def _read_feed(self, system: str, into: list[dict[str, Any]]) -> Iterator[None]:
        """Page through the feed from the watermark; the watermark moves as soon as a page is read."""
        client = self.clients[system]
        known = KNOWN_EVENTS[system]
        cursor = self.storage.get(f"watermark:{system}", "0")
        while True:
            try:
                page = client.call("GET", "/events", params={"after": cursor, "limit": str(FEED_PAGE),
                                                             "types": ",".join(known)})
            except (ApiError, httpx.HTTPError) as exc:
                self.log.warning("legacy batch: cannot read the %s feed tonight: %s", system, exc)
                return
            yield
            into.extend(e for e in page["data"] if e["type"] in known)
            if not page["data"] or page["next_cursor"] == cursor:
                return
            cursor = page["next_cursor"]
            self.storage[f"watermark:{system}"] = cursor

    # -- master data ----------------------------------------------------------------------
    @staticmethod
    def _customer_fields(account: dict[str, Any]) -> dict[str, Any]:
        return {"name": account["legal_name"][:CUSTOMER_NAME_MAX], "legal_name": account["legal_name"],
                "tax_id": account["tax_id"], "billing_address": account["billing_address"]}

    def sync_customer(self, account_id: str) -> str:
        """The ERP customer of a CRM account, created if this script has no note of one (no idempotency key)."""
        known = self.storage.get(f"customer:{account_id}")
        if known is not None:
            return known
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        customer = self.clients["erp"].call("POST", "/customers", json={
            "external_ref": account_id, "tax_jurisdiction": account["tax_jurisdiction"],
            "currency": account["currency"], **self._customer_fields(account)})
        self.storage[f"customer:{account_id}"] = customer["id"]
        return customer["id"]

    def update_customer(self, account_id: str) -> None:
        """Copy the account over the customer: no version check, no If-Match (last write wins)."""
        customer_id = self.storage.get(f"customer:{account_id}")
        if customer_id is None:
            self.sync_customer(account_id)
            return
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        self.clients["erp"].call("PATCH", f"/customers/{customer_id}", json=self._customer_fields(account))

    # -- contracts -------------------------------------------------------------------------
    def set_up_contract(self, contract_id: str) -> None:
        """Billing project in the ERP, project in the PSA; the terms are copied once and never again."""
        contract = self.clients["clm"].call("GET", f"/contracts/{contract_id}")
        customer_id = self.sync_customer(contract["account_id"])
        billing_project = self.clients["erp"].call("POST", "/billing-projects", json={
            "customer_id": customer_id, "legal_entity": contract["legal_entity"], "contract_ref": contract_id,
            "currency": contract["currency"], "name": contract["title"],
            "payment_terms_days": contract["payment_terms_days"]})
        psa = self.clients["psa"]
        project = psa.call("POST", "/projects", json={
            "contract_ref": contract_id, "name": contract["title"], "start_date": contract["start_date"],
            "end_date": contract["end_date"], "tasks": [{"name": "Delivery"}, {"name": "Project management"}]})
        if contract["milestones"]:
            psa.call("POST", f"/projects/{project['id']}/milestones", json={"milestones": [
                {"ref": m["ref"], "name": m["name"], "planned_date": m["planned_date"]} for m in contract["milestones"]]})
        self.storage[f"contract:{contract_id}"] = {
            key: contract[key] for key in ("id", "version", "currency", "billing_type", "rate_card", "expense_markup_pct",
                                           "milestones", "retainer_fee", "start_date", "end_date")
        } | {"billing_project_id": billing_project["id"]}
        self.storage[f"project:{project['id']}"] = contract_id
        if contract["billing_type"] == "retainer":
            self.storage["retainers"] = sorted({*self.storage.get("retainers", []), contract_id})

    def _terms_of_project(self, project_id: str) -> dict[str, Any]:
        contract_id = self.storage.get(f"project:{project_id}")
        terms = self.storage.get(f"contract:{contract_id}") if contract_id else None
        if terms is None:
            raise Skipped(f"project {project_id} was never set up by this batch")
        return terms

    # -- charges ---------------------------------------------------------------------------
    def _charge(self, terms: dict[str, Any], description: str, quantity: str, unit_price: int, amount: int,
                source_type: str, source_id: str, source_version: int, approval_id: str | None, **extra: Any) -> None:
        """One ``POST /charges``, dated the night it is imported (not the work date): an ERP import interface
        posts "today", because a closed period takes no back-dated entries."""
        self.clients["erp"].call("POST", "/charges", json={  # no Idempotency-Key: a retry would bill twice
            "billing_project_id": terms["billing_project_id"], "charge_date": self._import_date,
            "description": description, "quantity": quantity, "unit_price": unit_price, "amount": amount,
            "currency": terms["currency"],
            "lineage": {"contract_id": terms["id"], "contract_version": terms["version"],
                        "source_system": "clm" if source_type == "retainer_period" else "psa",
                        "source_type": source_type, "source_id": source_id, "source_version": source_version,
                        "approval_id": approval_id, **extra},
        })

    def charge_timesheet(self, timesheet_id: str) -> None:
        """One charge per billable line, every time the sheet is approved: an adjustment is billed again in full."""
        sheet = self.clients["psa"].call("GET", f"/timesheets/{timesheet_id}")
        if sheet["status"] != "approved":
            return  # changed again since; its next approval will come through the feed
        for line in sheet["lines"]:
            if not line["billable"]:
                continue
            terms = self._terms_of_project(line["project_id"])
            rate = rate_for(terms["rate_card"], line["role"], line["date"])
            self._charge(terms, f"{line['role']} {line['hours']}h on {line['date']}", line["hours"], rate,
                         price(Decimal(line["hours"]), rate), "timesheet_line", line["id"], sheet["version"],
                         sheet["approval_id"], timesheet_id=timesheet_id)

    def charge_expense(self, expense_id: str) -> None:
        expense = self.clients["psa"].call("GET", f"/expenses/{expense_id}")
        if expense["status"] != "approved" or not expense["billable"]:
            return
        terms = self._terms_of_project(expense["project_id"])
        amount = marked_up(expense["cost"], terms["expense_markup_pct"])
        self._charge(terms, f"Expense: {expense['description']}", "1", amount, amount, "expense",
                     expense_id, expense["version"], expense["approval_id"])

    def charge_milestone(self, milestone_id: str) -> None:
        milestone = self.clients["psa"].call("GET", f"/milestones/{milestone_id}")
        if milestone["status"] != "approved":
            return
        terms = self._terms_of_project(milestone["project_id"])
        amount = milestone_amount(terms, milestone["ref"])
        self._charge(terms, f"Milestone: {milestone['name']}", "1", amount, amount,
                     "milestone", milestone_id, milestone["version"], milestone["approval_id"])

    def charge_retainers(self, period: str) -> None:
        """The fee of every retainer this script knows whose (original) term covers the period just opened."""
        for contract_id in self.storage.get("retainers", []):
            terms = self.storage[f"contract:{contract_id}"]
            if period_in_term(terms, period):
                fee = terms["retainer_fee"]
                self._charge(terms, f"Retainer {period}", "1", fee, fee, "retainer_period",
                             f"{contract_id}/{period}", terms["version"], None, period=period)

    # -- billing status write-back ---------------------------------------------------------------
    def write_back_invoice(self, invoice_id: str) -> None:
        """Write the invoice number back to every PSA item it billed."""
        write_back_invoice(self.clients["erp"], self.clients["psa"], invoice_id)


def build(runtime: Any) -> LegacyBatchConnector:
    return LegacyBatchConnector(runtime)
