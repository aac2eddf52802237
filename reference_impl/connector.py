"""The reference connector: CRM, CLM and PSA into the ERP.

What it guarantees (and how):

- One ERP customer per CRM account and one billing project per contract:
  every create carries an ``Idempotency-Key`` derived from the source id, and
  the resulting ids are remembered in durable storage.
- An approved timesheet becomes one ERP charge per billable line, priced
  from the contract's rate card by *work date*; the key is derived from the
  line id and timesheet version, so a redelivered webhook charges nothing
  twice.
- A posted invoice marks its timesheet lines billed in the PSA.
- Webhooks are verified (Standard Webhooks, runtime clock) before anything
  else; a forged one gets 401 and changes nothing.
- Events are thin: the connector always reads the current entity, so a
  late or repeated event never writes stale data.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from reference_impl.api import ApiError, SystemClient
from reference_impl.rating import price, rate_for
from reference_impl.signatures import InvalidSignature, verify

CUSTOMER_NAME_MAX = 40


class ReferenceConnector:
    name = "c2c reference connector"

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.storage = runtime.storage
        self.clients = {
            system: SystemClient(runtime.http, system, url, *runtime.credentials[system], runtime.clock.now)
            for system, url in runtime.urls.items()
        }
        self.handlers = {
            "crm.account.created": self.sync_customer,
            "crm.account.updated": self.sync_customer,
            "clm.contract.signed": self.set_up_contract,
            "psa.timesheet.approved": self.charge_timesheet,
            "erp.invoice.posted": self.mark_invoice_lines_billed,
        }

    # -- the webhook endpoint -------------------------------------------------
    def receive(self, delivery: Any) -> int:
        try:
            verify(self.runtime.webhook_secret, delivery.headers, delivery.body, self.runtime.clock.now())
        except InvalidSignature as exc:
            self.runtime.log.warning("rejected webhook: %s", exc)
            return 401
        event = json.loads(delivery.body)
        handler = self.handlers.get(event["type"])
        if handler is None:
            return 204
        try:
            handler(event["data"]["id"])
        except ApiError as exc:
            self.runtime.log.warning("%s failed: %s", event["type"], exc)
            return 503 if exc.status >= 500 or exc.status == 429 else 500
        return 200

    def close(self) -> None:
        return None

    # -- master data ------------------------------------------------------------
    def _remember(self, kind: str, source_id: str, target_id: str) -> None:
        self.storage[f"{kind}:{source_id}"] = target_id

    def _recall(self, kind: str, source_id: str) -> str | None:
        return self.storage.get(f"{kind}:{source_id}")

    def sync_customer(self, account_id: str) -> str:
        known = self._recall("customer", account_id)
        if known is not None:
            return known
        account = self.clients["crm"].call("GET", f"/accounts/{account_id}")
        customer = self.clients["erp"].call(
            "POST", "/customers", headers={"idempotency-key": f"customer:{account_id}"},
            json={
                "external_ref": account_id,
                "name": account["legal_name"][:CUSTOMER_NAME_MAX],
                "legal_name": account["legal_name"],
                "tax_id": account["tax_id"],
                "tax_jurisdiction": account["tax_jurisdiction"],
                "currency": account["currency"],
                "billing_address": account["billing_address"],
            },
        )
        self._remember("customer", account_id, customer["id"])
        return customer["id"]

    def set_up_contract(self, contract_id: str, contract: dict[str, Any] | None = None) -> None:
        if self._recall("billing_project", contract_id) and self._recall("psa_project", contract_id):
            return
        contract = contract or self.clients["clm"].call("GET", f"/contracts/{contract_id}")
        customer_id = self.sync_customer(contract["account_id"])
        if self._recall("billing_project", contract_id) is None:
            project = self.clients["erp"].call(
                "POST", "/billing-projects", headers={"idempotency-key": f"billing-project:{contract_id}"},
                json={"customer_id": customer_id, "legal_entity": contract["legal_entity"],
                      "contract_ref": contract_id, "currency": contract["currency"], "name": contract["title"]},
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
            self._remember("psa_project", contract_id, project["id"])
            self._remember("contract_of_project", project["id"], contract_id)

    # -- billing ------------------------------------------------------------------
    def _contract_of(self, project_id: str) -> str:
        contract_id = self._recall("contract_of_project", project_id)
        if contract_id is None:
            contract_id = self.clients["psa"].call("GET", f"/projects/{project_id}")["contract_ref"]
            self._remember("contract_of_project", project_id, contract_id)
        return contract_id

    def charge_timesheet(self, timesheet_id: str) -> None:
        timesheet = self.clients["psa"].call("GET", f"/timesheets/{timesheet_id}")
        if timesheet["status"] != "approved":
            return  # a stale event: the sheet moved on since
        contracts: dict[str, dict[str, Any]] = {}
        for line in timesheet["lines"]:
            if not line["billable"]:
                continue
            contract_id = self._contract_of(line["project_id"])
            if contract_id not in contracts:
                contracts[contract_id] = self.clients["clm"].call("GET", f"/contracts/{contract_id}")
                self.set_up_contract(contract_id, contracts[contract_id])
            contract = contracts[contract_id]
            hours = Decimal(line["hours"])
            rate = rate_for(contract["rate_card"], line["role"], line["date"])
            self.clients["erp"].call(
                "POST", "/charges", headers={"idempotency-key": f"charge:{line['id']}:v{timesheet['version']}"},
                json={
                    "billing_project_id": self._recall("billing_project", contract_id),
                    "charge_date": line["date"],
                    "description": f"{line['role']} {line['hours']}h on {line['date']}",
                    "quantity": line["hours"], "unit_price": rate, "amount": price(hours, rate),
                    "currency": contract["currency"],
                    "lineage": {
                        "contract_id": contract_id, "contract_version": contract["version"],
                        "source_system": "psa", "source_type": "timesheet_line", "source_id": line["id"],
                        "source_version": timesheet["version"], "timesheet_id": timesheet_id,
                        "approval_id": timesheet["approval_id"],
                    },
                },
            )

    def mark_invoice_lines_billed(self, invoice_id: str) -> None:
        invoice = self.clients["erp"].call("GET", f"/invoices/{invoice_id}")
        for line in invoice["lines"]:
            lineage = line["lineage"]
            if lineage.get("source_type") == "timesheet_line":
                self.clients["psa"].call("PUT", f"/timesheet-lines/{lineage['source_id']}/billing",
                                         json={"invoice_ref": invoice["number"]})


def build(runtime: Any) -> ReferenceConnector:
    return ReferenceConnector(runtime)
