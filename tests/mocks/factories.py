"""Payload builders and small helpers shared by the mock-system tests.

Every builder returns a fresh dict so a test may mutate it freely.
"""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


def address(country: str = "US") -> dict[str, str]:
    return {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": country}


def crm_account(name: str = "Acme Corp", **overrides: Any) -> dict[str, Any]:
    body = {
        "legal_name": name, "billing_country": "US", "currency": "USD", "tax_id": "US-123",
        "tax_jurisdiction": "US-NY", "billing_address": address(),
    }
    body.update(overrides)
    return body


def erp_customer(name: str = "Acme", **overrides: Any) -> dict[str, Any]:
    body = {
        "external_ref": f"crm:{name}", "name": name, "legal_name": f"{name} Inc.", "tax_id": "T-1",
        "tax_jurisdiction": "US-NY", "currency": "USD", "billing_address": address(),
    }
    body.update(overrides)
    return body


def erp_charge(project_id: str, amount: int, charge_date: str = "2026-01-15", currency: str = "USD",
               **overrides: Any) -> dict[str, Any]:
    body = {
        "billing_project_id": project_id, "charge_date": charge_date, "description": "consulting",
        "quantity": "1", "unit_price": amount, "amount": amount, "currency": currency,
        "lineage": {"source": "test", "amount": amount},
    }
    body.update(overrides)
    return body


def assert_problem(response: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"].startswith("https://")
    if kind is not None:
        assert body["type"].endswith("/" + kind), body["type"]
    return body


def create(api, system: str, path: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response = api(system, "POST", path, json=body, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def erp_project(api, customer_id: str, legal_entity: str = "US01", currency: str = "USD",
                contract_ref: str = "ctr_1") -> dict[str, Any]:
    return create(api, "erp", "/billing-projects", {
        "customer_id": customer_id, "legal_entity": legal_entity, "contract_ref": contract_ref,
        "currency": currency, "name": f"project {contract_ref}",
    })
