"""The reference connector: CRM, CLM and PSA into the ERP.

What it guarantees (and how):

- One ERP customer per CRM account and one billing project per contract:
  creates carry an ``Idempotency-Key`` derived from the source id, and the
  ids are remembered in durable storage. Account changes reach the ERP
  customer with ``If-Match``.
- Every billable source item (timesheet line, expense, milestone, retainer
  period) ends with ERP net charges equal to its value under the contract's
  current version (:mod:`reference_impl.rating`); :mod:`reference_impl.billing` gets it there
  by reversal and re-charge, with holds and releases on capped contracts.
- Events are thin: the connector always reads the current entity, so a
  late or repeated event never writes stale data, and any event for an
  item simply re-settles it.
- Webhooks are verified (Standard Webhooks, runtime clock) before anything
  else; a forged one gets 401 and changes nothing.
- Retainer periods are charged when the ERP opens them, and a periodic
  sweep of open periods catches up on any it missed.
- Once a month (on the 2nd, after the billing runs) and on demand, every
  contract's charges in the ERP are compared with the ledger; where they
  drifted apart (a finance user reversed a charge by hand, a retry under an
  expired idempotency key booked a batch twice) the ledger adopts the
  ERP's truth and the items are re-settled, so the ERP converges again.
  Repairs are counted per month in storage (``repairs:YYYY-MM``), each
  with its detail (``repair:YYYY-MM:item:n``); see :mod:`reference_impl.reconciliation`.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import httpx

from reference_impl import reconciliation
from reference_impl.api import ApiError, SystemClient
from reference_impl.billing import ChargeWriter, ContractBilling, Target
from reference_impl.inbox import Inbox
from reference_impl.ledger import Ledger
from reference_impl.rating import Unrateable, marked_up, milestone_amount, period_in_term, price, rate_for
from reference_impl.signatures import InvalidSignature, verify
from reference_impl.writeback import write_back_invoice

CUSTOMER_NAME_MAX = 40
PERIOD_SWEEP_S = 6 * 3600
SWEEP_RETRY_S = 300
FEED_POLL_S = 4 * 3600  # a dropped webhook is picked up from the change feed within this time
FEED_PAGE = 500
DRAIN_S = 3600
DEAD_LETTER_REPLAY_S = 12 * 3600
RECONCILE = "c2c.reconcile.contract"  # internal work the reconciliation queues per contract; never a webhook
RECONCILE_DAY = 2  # of each month: after the 1st's billing runs, so repairs land on the next invoice
RECONCILE_CHECK_S = 6 * 3600
CHARGE_PAGE = 500  # the most the ERP pages: a contract's charges in as few reads as possible


class ReferenceConnector:
    name = "c2c reference connector"

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.storage = runtime.storage
        self.clients = {
            system: SystemClient(runtime.http, system, url, *runtime.credentials[system], runtime.clock.now)
            for system, url in runtime.urls.items()
        }
        self.ledger = Ledger(self.storage)
        self._contracts: dict[str, dict[str, Any]] = {}  # a cache; an amendment's event refreshes it
        self.writer = ChargeWriter(self.clients["erp"], self.ledger)
        self.handlers = {
            "crm.account.created": self.sync_customer,
            "crm.account.updated": self.update_customer,
            "clm.contract.signed": self.set_up_contract,
            "clm.contract.amended": self.reprice_contract,
            "psa.timesheet.approved": self.settle_timesheet,
            "psa.timesheet.adjusted": self.settle_timesheet,
            "psa.timesheet.rejected": self.settle_timesheet,
            "psa.expense.approved": self.settle_expense,
            "psa.expense.rejected": self.settle_expense,
            "psa.milestone.approved": self.settle_milestone,
            "erp.period.opened": self.bill_retainers,
            "erp.invoice.posted": self.mark_invoice_billed,
            "erp.credit_note.posted": self.mark_invoice_billed,  # its positive lines bill work too
            RECONCILE: self.reconcile_contract,
        }
        self.subscriptions = frozenset(t for t in self.handlers if t != RECONCILE)
        self.inbox = Inbox(self.storage, runtime.clock.now, lambda: 0.5 + runtime.rng.random())
        runtime.scheduler.every(PERIOD_SWEEP_S, self.sweep_periods)
        runtime.scheduler.every(DRAIN_S, self.drain)
        runtime.scheduler.every(FEED_POLL_S, self.poll_feeds)
        runtime.scheduler.every(DEAD_LETTER_REPLAY_S, self.replay_dead_letters)
        runtime.scheduler.every(RECONCILE_CHECK_S, self.reconcile_if_due)
        runtime.scheduler.call_later(0, self.drain)  # a restarted instance picks up where the last one stopped

    # -- the webhook endpoint -------------------------------------------------
    def receive(self, delivery: Any) -> int:
        try:
            self.verify_signature(delivery)
        except InvalidSignature as exc:
            self.runtime.log.warning("rejected webhook: %s", exc)
            return 401
        event = json.loads(delivery.body)
        if event["type"] not in self.subscriptions or event["type"] not in self.handlers:
            return 204
        entry = self.inbox.accept(event["id"], event["type"], event["data"]["id"])
        if entry is not None:  # a duplicate was handled (or is pending) already
            self.work(entry)
        return 200  # accepted: from here on, retries are the inbox's job, not the sender's

    def verify_signature(self, delivery: Any) -> None:
        """Standard Webhooks: the shared secret's HMAC, and a timestamp within 5 minutes of now (no replays)."""
        verify(self.runtime.webhook_secret, delivery.headers, delivery.body, self.runtime.clock.now())

    def work(self, entry: dict[str, Any]) -> None:
        """Handle one inbox entry; on failure, reschedule it (or dead-letter it) without blocking others."""
        try:
            self.handlers[entry["type"]](entry["entity"])
        except (ApiError, Unrateable, httpx.TransportError) as exc:
            retry_after = exc.retry_after if isinstance(exc, ApiError) else None
            delay = self.inbox.failed(entry, f"{type(exc).__name__}: {exc}", retry_after)
            self.runtime.log.warning("%s %s failed (attempt %d): %s", entry["type"], entry["entity"],
                                     entry["attempts"] + 1, exc)
            if delay is not None:
                self.runtime.scheduler.call_later(delay, self.drain)
            return
        self.inbox.done(entry)

    def drain(self) -> None:
        """Work off every entry that is due (after a backoff, or left behind by a crashed instance)."""
        for entry in self.inbox.due():
            self.work(entry)

    # -- the change feed: the safety net under the webhooks ----------------------------------
    def poll_feeds(self) -> None:
        """Read every system's change feed from the last cursor; events already seen are skipped.

        Webhooks are fast but may be lost; the feed is complete. Both land in
        the same inbox under the same event id, so an event that arrives both
        ways is handled once. A cursor the feed no longer retains (410) means
        events were missed for good: the system is resynced from its current
        state, and reading goes on from the feed's head.
        """
        for system in self.clients:  # every system the runtime gave a URL for, in its order
            types = sorted(t for t in self.handlers if t.startswith(system + "."))
            if types:
                self._poll(system, ",".join(types))

    def _poll(self, system: str, types: str) -> None:
        client = self.clients[system]
        cursor = self._recall("feed_cursor", system) or "0"
        while True:
            try:
                page = client.call("GET", "/events", params={"after": cursor, "limit": str(FEED_PAGE), "types": types})
            except ApiError as exc:
                if exc.status == 410:
                    self.resync(system, exc.problem.get("head_cursor", "0"))
                return  # anything else: try again at the next poll
            except httpx.TransportError:
                return
            for event in page["data"]:
                entry = self.inbox.accept(event["id"], event["type"], event["entity_id"])
                if entry is not None:
                    self.work(entry)
            cursor = page["next_cursor"]
            self._remember("feed_cursor", system, cursor)
            if len(page["data"]) < FEED_PAGE:
                return

    def resync(self, system: str, head: str) -> None:
        """Rebuild what one system's missed events would have told us, from its current state.

        Listing the system takes a few paged reads; if one fails, nothing
        changes and the next poll tries again. Then every listed entity
        becomes its own durable inbox entry, worked off with its own retries,
        so a resync of hundreds of entities survives faults that would sink
        one long all-or-nothing pass.
        """
        try:
            work = self._resync_work(system)
        except (ApiError, httpx.TransportError) as exc:
            self.runtime.log.warning("listing %s for a resync failed, will retry: %s", system, exc)
            return  # the cursor stays behind retention, so the next poll resyncs again
        for event_type, entity_id in work:
            self.inbox.accept(f"resync:{system}:{head}:{event_type}:{entity_id}", event_type, entity_id)
        self._remember("feed_cursor", system, head)
        self.runtime.log.info("resyncing %s: %d entities queued; reading on from cursor %s", system, len(work), head)
        self.runtime.scheduler.call_later(0, self.drain)

    def _resync_work(self, system: str) -> list[tuple[str, str]]:
        """(event type, entity id) for everything of ``system`` the connector may have missed."""
        if system == "crm":
            return [("crm.account.updated", a["id"]) for a in self.clients["crm"].list_all("/accounts")]
        if system == "clm":
            return [("clm.contract.amended", c["id"]) for c in self.clients["clm"].list_all("/contracts")
                    if c["status"] == "signed"]
        if system == "psa":
            psa = self.clients["psa"]
            return ([("psa.timesheet.approved", t["id"]) for t in psa.list_all("/timesheets")]
                    + [("psa.expense.approved", e["id"]) for e in psa.list_all("/expenses")]
                    + [("psa.milestone.approved", m["id"]) for m in psa.list_all("/milestones", {"status": "approved"})])
        erp = self.clients["erp"]
        return ([("erp.period.opened", p["period"]) for p in erp.list_all("/periods")]
                + [("erp.invoice.posted", i["id"]) for i in erp.list_all("/invoices", {"status": "posted"})])

    def replay_dead_letters(self) -> None:
        """Sources get fixed: every dead letter gets a fresh set of attempts."""
        for entry in self.inbox.dead_letters():
            self.inbox.replay(entry["id"])
        self.drain()

    def close(self) -> None:
        return None

    # -- reconciliation: the ERP's charges against the ledger ---------------------------------
    def _month(self) -> str:
        return dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC).strftime("%Y-%m")

    def reconcile_if_due(self) -> None:
        """The monthly reconciliation: once per month, from the 2nd on (a restarted instance catches up)."""
        now = dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC)
        month = now.strftime("%Y-%m")
        if now.day >= RECONCILE_DAY and not self._recall("reconciled", month):
            self.reconcile(f"monthly:{month}")
            self._remember("reconciled", month, True)

    def reconcile(self, run: str | None = None) -> int:
        """Reconcile every contract the connector bills, monthly or on demand; returns how many were queued.

        Each contract becomes its own durable inbox entry (like a resync), worked
        off with its own retries, backoff and ``Retry-After``, so a pass over
        hundreds of contracts survives faults and rate limits, and a crash
        midway loses nothing. The same ``run`` queued twice is queued once.
        """
        run = run or f"on-demand:{self.runtime.clock.now():.0f}"
        contracts = [key.split(":", 1)[1] for key, _ in self.storage.scan("billing_project:")]
        for contract_id in contracts:
            self.inbox.accept(f"reconcile:{run}:{contract_id}", RECONCILE, contract_id)
        self.runtime.log.info("reconciliation %s: %d contracts queued", run, len(contracts))
        self.runtime.scheduler.call_later(0, self.drain)
        return len(contracts)

    def reconcile_contract(self, contract_id: str) -> int:
        """Compare one contract's charges in the ERP with the ledger, adopt the ERP's truth, re-settle; returns
        the number of items that had drifted.

        The charges are read and the ledger adopts them at one instant, with
        no write of the connector in between, so the comparison never sees
        its own writes half done. Which items still need re-settling is
        stored *before* anything is adopted (and cleared only once they are
        settled), so a failure or a crash anywhere after the read leaves the
        inbox entry to run again and finish the repair.
        """
        project_id = self._recall("billing_project", contract_id)
        if project_id is None:
            return 0
        charges = self.clients["erp"].list_all("/charges", {"billing_project_id": project_id}, page_size=CHARGE_PAGE)
        erp_items, foreign = reconciliation.open_charges(charges)
        self._report_foreign(contract_id, foreign)
        pending = set(self._recall("reconcile_pending", contract_id) or [])
        if not pending and reconciliation.charge_map(erp_items) == self.writer.open_charges(contract_id):
            return 0  # the usual case, told without reading the ledger: the writer keeps its open charges in step
        drifts = reconciliation.compare(self.ledger.items_of(contract_id), erp_items)
        if drifts:
            pending |= {drift.key for drift in drifts}
            self._remember("reconcile_pending", contract_id, sorted(pending))
            month = self._month()
            for drift in drifts:
                record = self.ledger.get(drift.key)
                self.storage[f"repair:{month}:{drift.key}:{record.writes if record else 0}"] = {
                    **drift.to_json(), "contract_id": contract_id, "at": self.runtime.clock.now()}
                self.ledger.save(reconciliation.adopt(record, drift, contract_id, erp_items.get(drift.key)))
                self.runtime.log.warning("reconciliation: %s on contract %s drifted (%s); adopting the ERP's charges "
                                         "and re-settling", drift.key, contract_id, drift.describe())
            self.storage[f"repairs:{month}"] = sum(1 for _ in self.storage.scan(f"repair:{month}:"))
            self.writer.invalidate(contract_id)
        if pending:
            self._resettle(contract_id, sorted(pending))
            self.storage.pop(f"reconcile_pending:{contract_id}", None)
        return len(drifts)

    def _resettle(self, contract_id: str, keys: list[str]) -> None:
        """Bring the given items of one contract back to their targets, from their stored facts (or their source)."""
        contract = self._contract(contract_id)
        targets = []
        for key in keys:
            record = self.ledger.get(key)
            if record is None:
                continue
            target = self._retarget(contract, key, record.facts)
            if target is not None:
                targets.append(target)
                continue
            # Adopted from the ERP, never settled by this ledger: what it is worth is read from its source.
            lineage = record.lineage
            kind = lineage.get("source_type")
            if kind == "timesheet_line":
                self.settle_timesheet(lineage["timesheet_id"])
            elif kind == "expense":
                self.settle_expense(lineage["source_id"])
            elif kind == "milestone":
                self.settle_milestone(lineage["source_id"])
            elif kind == "retainer_period":
                targets.append(self._retainer_target(contract, lineage["period"]))
        self.writer.settle(self._billing(contract), targets)

    def _report_foreign(self, contract_id: str, charges: list[dict[str, Any]]) -> None:
        """Open charges someone else wrote for a source item: reported once each (``foreign_charge:ID``), not
        reversed, since a robot cannot tell a mistaken duplicate from a deliberate adjustment."""
        for charge in charges:
            if f"foreign_charge:{charge['id']}" in self.storage:
                continue
            item = reconciliation.item_key(charge["lineage"])
            self.storage[f"foreign_charge:{charge['id']}"] = {"item": item, "contract_id": contract_id,
                                                             "amount": charge["amount"], "status": charge["status"],
                                                             "seen_at": self.runtime.clock.now()}
            self.runtime.log.warning("reconciliation: charge %s (%s %s) on %s was not written by this connector; "
                                     "left for finance to review", charge["id"], charge["amount"], charge["currency"],
                                     item)

    def repairs(self) -> dict[str, int]:
        """Items the reconciliation repaired, per month (``YYYY-MM``), as kept in durable storage."""
        return {key.split(":", 1)[1]: count for key, count in self.storage.scan("repairs:")}

    # -- durable id mappings -----------------------------------------------------
    def _remember(self, kind: str, source_id: str, target: Any) -> None:
        self.storage[f"{kind}:{source_id}"] = target

    def _recall(self, kind: str, source_id: str) -> Any:
        return self.storage.get(f"{kind}:{source_id}")

    # -- master data ------------------------------------------------------------
    @staticmethod
    def _customer_fields(account: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": account["legal_name"][:CUSTOMER_NAME_MAX],  # the full name travels in legal_name
            "legal_name": account["legal_name"],
            "tax_id": account["tax_id"],
            "billing_address": account["billing_address"],
        }

    def sync_customer(self, account_id: str) -> str:
        known = self._recall("customer", account_id)
        if known is not None:
            return known
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        customer = self.clients["erp"].call(
            "POST", "/customers", headers={"idempotency-key": f"customer:{account_id}"},
            json={"external_ref": account_id, "tax_jurisdiction": account["tax_jurisdiction"],
                  "currency": account["currency"], **self._customer_fields(account)},
        )
        self._remember("customer", account_id, customer["id"])
        self._remember("customer_synced_version", account_id, account["version"])
        return customer["id"]

    def update_customer(self, account_id: str) -> None:
        customer_id = self._recall("customer", account_id)
        if customer_id is None:
            self.sync_customer(account_id)
            return
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        if account["version"] <= (self._recall("customer_synced_version", account_id) or 0):
            return  # a stale event: this or a newer version is already in the ERP
        erp = self.clients["erp"]
        current = erp.request("GET", f"/customers/{customer_id}")
        if not 200 <= current.status_code < 300:  # a 429 or a 5xx has no ETag: retried like any failed call
            raise ApiError("erp", "GET", f"/customers/{customer_id}", current)
        erp.call("PATCH", f"/customers/{customer_id}", json=self._customer_fields(account),
                 headers={"if-match": current.headers["etag"]})
        self._remember("customer_synced_version", account_id, account["version"])

    # -- contracts ------------------------------------------------------------------
    def set_up_contract(self, contract_id: str, contract: dict[str, Any] | None = None) -> None:
        if self._recall("billing_project", contract_id) and self._recall("psa_project", contract_id):
            return
        contract = contract or self._contract(contract_id, fresh=True)
        customer_id = self.sync_customer(contract["account_id"])
        if self._recall("billing_project", contract_id) is None:
            project = self.clients["erp"].call(
                "POST", "/billing-projects", headers={"idempotency-key": f"billing-project:{contract_id}"},
                json={"customer_id": customer_id, "legal_entity": contract["legal_entity"],
                      "contract_ref": contract_id, "currency": contract["currency"], "name": contract["title"],
                      "payment_terms_days": contract["payment_terms_days"]},
            )
            self._remember("billing_project", contract_id, project["id"])
        if self._recall("psa_project", contract_id) is None:
            psa = self.clients["psa"]
            existing = psa.call("GET", "/projects", params={"contract_ref": contract_id})["data"]
            project = existing[0] if existing else psa.call(
                "POST", "/projects",
                json={"contract_ref": contract_id, "name": contract["title"], "start_date": contract["start_date"],
                      "end_date": contract["end_date"], "tasks": [{"name": "Delivery"}, {"name": "Project management"}]},
            )
            if contract["milestones"]:
                psa.call("POST", f"/projects/{project['id']}/milestones", json={"milestones": [
                    {"ref": m["ref"], "name": m["name"], "planned_date": m["planned_date"]}
                    for m in contract["milestones"]]})
            self._remember("psa_project", contract_id, project["id"])
            self._remember("contract_of_project", project["id"], contract_id)
        if contract["billing_type"] == "retainer":
            self._remember("retainer", contract_id, True)
            self.settle_retainer(contract)

    def _billing(self, contract: dict[str, Any]) -> ContractBilling:
        self.set_up_contract(contract["id"], contract)
        return ContractBilling(contract["id"], contract["version"], self._recall("billing_project", contract["id"]),
                               contract["currency"], contract["billing_type"], contract["cap"])

    def _contract(self, contract_id: str, fresh: bool = False) -> dict[str, Any]:
        """The contract's current version. Cached: a signed contract changes only by amendment, and the
        amendment's event re-reads it and re-prices every item, so work priced from a cache that was one
        event behind is corrected by that same event."""
        if fresh or contract_id not in self._contracts:
            self._contracts[contract_id] = self.clients["clm"].call("GET", f"/contracts/{contract_id}")
        return self._contracts[contract_id]

    def _contract_of(self, project_id: str) -> str:
        contract_id = self._recall("contract_of_project", project_id)
        if contract_id is None:
            contract_id = self.clients["psa"].call("GET", f"/projects/{project_id}")["contract_ref"]
            self._contract(contract_id)  # a reference that names no contract (poison) is never remembered
            self._remember("contract_of_project", project_id, contract_id)
        return contract_id

    def reprice_contract(self, contract_id: str) -> None:
        """An amendment: every item already charged is re-valued under the new version."""
        contract = self._contract(contract_id, fresh=True)
        billing = self._billing(contract)
        targets = [self._retarget(contract, record.key, record.facts) for record in self.ledger.items_of(contract_id)]
        self.writer.settle(billing, [t for t in targets if t is not None])
        if contract["billing_type"] == "capped_tm":
            self.writer.rebalance(billing)
        if contract["billing_type"] == "retainer":
            self.settle_retainer(contract)

    # -- valuing source items -------------------------------------------------------------
    def _retarget(self, contract: dict[str, Any], key: str, facts: dict[str, Any]) -> Target | None:
        kind = facts.get("kind")
        if kind == "timesheet_line":
            return self._line_target(contract, facts)
        if kind == "expense":
            return self._expense_target(contract, facts)
        if kind == "milestone":
            return self._milestone_target(contract, facts)
        if kind == "retainer_period":
            return self._retainer_target(contract, facts["period"])
        return None

    def _lineage(self, contract: dict[str, Any], source_type: str, source_id: str, version: int,
                 approval_id: str | None, **extra: Any) -> dict[str, Any]:
        return {"contract_id": contract["id"], "contract_version": contract["version"],
                "source_system": "clm" if source_type == "retainer_period" else "psa", "source_type": source_type,
                "source_id": source_id, "source_version": version, "approval_id": approval_id, **extra}

    def _line_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        amount, rate = 0, 0
        if f["approved"] and f["billable"]:
            rate = rate_for(contract["rate_card"], f["role"], f["date"])
            amount = price(Decimal(f["hours"]), rate)
        return Target(f"psa:timesheet_line/{f['line_id']}", f["date"], amount, f["date"],
                      f"{f['role']} {f['hours']}h on {f['date']}", f["hours"], rate,
                      self._lineage(contract, "timesheet_line", f["line_id"], f["version"], f["approval_id"],
                                    timesheet_id=f["timesheet_id"]), f)

    def _expense_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        amount = marked_up(f["cost"], contract["expense_markup_pct"]) if f["approved"] and f["billable"] else 0
        return Target(f"psa:expense/{f['expense_id']}", f["date"], amount, f["date"],
                      f"Expense: {f['description']}", "1", amount,
                      self._lineage(contract, "expense", f["expense_id"], f["version"], f["approval_id"]), f)

    def _milestone_target(self, contract: dict[str, Any], f: dict[str, Any]) -> Target:
        amount = milestone_amount(contract, f["ref"]) if f["approved"] else 0
        return Target(f"psa:milestone/{f['milestone_id']}", f["date"], amount, f["date"],
                      f"Milestone: {f['name']}", "1", amount,
                      self._lineage(contract, "milestone", f["milestone_id"], f["version"], f["approval_id"]), f)

    def _retainer_target(self, contract: dict[str, Any], period: str) -> Target:
        amount = contract["retainer_fee"] if period_in_term(contract, period) else 0
        first_day = f"{period}-01"
        return Target(f"clm:retainer_period/{contract['id']}/{period}", first_day, amount, first_day,
                      f"Retainer {period}", "1", amount,
                      self._lineage(contract, "retainer_period", f"{contract['id']}/{period}", contract["version"],
                                    None, period=period), {"kind": "retainer_period", "period": period})

    # -- settling on PSA events -------------------------------------------------------------
    def settle_timesheet(self, timesheet_id: str) -> None:
        timesheet = self.clients["psa"].call("GET", f"/timesheets/{timesheet_id}")
        approved = timesheet["status"] == "approved"
        facts_by_contract: dict[str, list[dict[str, Any]]] = {}
        current = set()
        for line in timesheet["lines"]:
            current.add(line["id"])
            facts_by_contract.setdefault(self._contract_of(line["project_id"]), []).append({
                "kind": "timesheet_line", "line_id": line["id"], "timesheet_id": timesheet_id,
                "hours": line["hours"], "role": line["role"], "date": line["date"], "billable": line["billable"],
                "approved": approved, "version": timesheet["version"], "approval_id": timesheet["approval_id"],
            })
        for line_id in self._recall("timesheet_lines", timesheet_id) or []:
            if line_id not in current:  # a line the adjustment removed is worth nothing now
                record = self.ledger.get(f"psa:timesheet_line/{line_id}")
                if record is not None:
                    facts_by_contract.setdefault(record.contract_id, []).append({**record.facts, "approved": False})
        self._remember("timesheet_lines", timesheet_id, sorted(current | set(self._recall("timesheet_lines",
                                                                                          timesheet_id) or [])))
        for contract_id, facts in facts_by_contract.items():
            contract = self._contract(contract_id)
            self.writer.settle(self._billing(contract), [self._line_target(contract, f) for f in facts])

    def settle_expense(self, expense_id: str) -> None:
        expense = self.clients["psa"].call("GET", f"/expenses/{expense_id}")
        contract = self._contract(self._contract_of(expense["project_id"]))
        facts = {"kind": "expense", "expense_id": expense_id, "cost": expense["cost"], "date": expense["date"],
                 "description": expense["description"], "billable": expense["billable"],
                 "approved": expense["status"] == "approved", "version": expense["version"],
                 "approval_id": expense["approval_id"]}
        self.writer.settle(self._billing(contract), [self._expense_target(contract, facts)])

    def settle_milestone(self, milestone_id: str) -> None:
        milestone = self.clients["psa"].call("GET", f"/milestones/{milestone_id}")
        contract = self._contract(self._contract_of(milestone["project_id"]))
        facts = {"kind": "milestone", "milestone_id": milestone_id, "ref": milestone["ref"],
                 "name": milestone["name"], "date": (milestone["approved_at"] or milestone["planned_date"])[:10],
                 "approved": milestone["status"] == "approved", "version": milestone["version"],
                 "approval_id": milestone["approval_id"]}
        self.writer.settle(self._billing(contract), [self._milestone_target(contract, facts)])

    # -- retainers ----------------------------------------------------------------------------
    def bill_retainers(self, period: str) -> None:
        for key, _ in list(self.storage.scan("retainer:")):
            contract = self._contract(key.split(":", 1)[1])
            self.writer.settle(self._billing(contract), [self._retainer_target(contract, period)])
        self._remember("period_billed", period, True)

    def sweep_periods(self) -> None:
        """Catch up on periods opened while this connector was not listening (one call when nothing is new).

        A sweep the ERP fails (a 5xx, a 429, a timeout) is tried again a few
        minutes later, never sooner than the Retry-After it was given:
        billing a retainer is idempotent, so a half-done sweep just resumes.
        """
        try:
            for period in self._open_periods():
                if not self._recall("period_billed", period):
                    self.bill_retainers(period)
        except (ApiError, httpx.TransportError) as exc:
            wait = max(SWEEP_RETRY_S, getattr(exc, "retry_after", None) or 0.0)
            self.runtime.scheduler.call_later(wait, self.sweep_periods)

    def settle_retainer(self, contract: dict[str, Any]) -> None:
        """Every open period of one retainer, e.g. when it is signed late or its term is amended."""
        self.writer.settle(self._billing(contract), [self._retainer_target(contract, p) for p in self._open_periods()])

    def _open_periods(self) -> list[str]:
        return [p["period"] for p in self.clients["erp"].list_all("/periods")]

    # -- billing status write-back -------------------------------------------------------------
    def mark_invoice_billed(self, invoice_id: str) -> None:
        """Write the invoice number back to every PSA item it billed."""
        write_back_invoice(self.clients["erp"], self.clients["psa"], invoice_id)


def build(runtime: Any) -> ReferenceConnector:
    return ReferenceConnector(runtime)
