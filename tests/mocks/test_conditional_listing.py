"""A billing project's charges are a conditional read: ``ETag`` on each page, ``If-None-Match`` answered 304.

The tag must move with every change to any charge of the project (created, in a batch or alone, released wholly
or in part, reversed, invoiced), whichever page it sits on, and with the query; it must not move for a change to
another project's charges. A client that trusts a 304 (the reference's reconciliation does) would otherwise miss
a change. Run in process and over real HTTP (uvicorn): a 304 carries no body either way.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.mocks.factories import create, erp_charge, erp_customer, erp_project


@pytest.fixture
def projects(api, systems) -> tuple[dict, dict]:
    systems.erp.open_period("2026-01")
    customer = create(api, "erp", "/customers", erp_customer())
    return erp_project(api, customer["id"]), erp_project(api, customer["id"])


def listing(api, project_id: str, etag: str | None = None, **query: str):
    headers = {"if-none-match": etag} if etag else {}
    return api("erp", "GET", "/charges", params={"billing_project_id": project_id, **query}, headers=headers)


def tag_of(api, project_id: str, **query: str) -> str:
    response = listing(api, project_id, **query)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def test_an_unchanged_project_answers_304_without_a_body(api, projects):
    project, _ = projects
    create(api, "erp", "/charges", erp_charge(project["id"], 100))
    tag = tag_of(api, project["id"])
    assert tag == tag_of(api, project["id"]), "the same state, the same tag"
    response = listing(api, project["id"], tag)
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == tag
    for spelled in (f"W/{tag}", f'"stale", {tag}', "*"):
        assert listing(api, project["id"], spelled).status_code == 304, spelled
    assert listing(api, project["id"], '"stale"').status_code == 200


def test_every_change_to_a_charge_of_the_project_moves_its_tag(api, systems, projects):
    project, other = projects
    seen = [tag_of(api, project["id"])]

    def changed(what: str) -> None:
        tag = tag_of(api, project["id"])
        assert tag not in seen, f"{what} left the tag as it was"
        assert listing(api, project["id"], seen[-1]).status_code == 200, f"{what}: the old tag still answered 304"
        seen.append(tag)

    first = create(api, "erp", "/charges", erp_charge(project["id"], 100))
    changed("a charge created")
    create(api, "erp", "/charge-batches", {"charges": [erp_charge(project["id"], 200), erp_charge(project["id"], 300)]})
    changed("a batch created")
    create(api, "erp", "/charges", erp_charge(project["id"], -100, unit_price=-100, reversal_of=first["id"]))
    changed("a charge reversed")
    held = create(api, "erp", "/charges", {**erp_charge(project["id"], 500), "hold": True})
    changed("a held charge created")
    assert api("erp", "POST", f"/charges/{held['id']}/release", json={"amount": 200}).status_code == 200
    changed("part of a held charge released")
    held_again = create(api, "erp", "/charges", {**erp_charge(project["id"], 400), "hold": True})
    changed("another held charge created")
    assert api("erp", "POST", f"/charges/{held_again['id']}/release").status_code == 200
    changed("a held charge released whole")
    before_other = seen[-1]
    create(api, "erp", "/charges", erp_charge(other["id"], 700))
    assert tag_of(api, project["id"]) == before_other, "another project's charge moved this project's tag"
    create(api, "erp", "/billing-runs", {"legal_entity": "US01", "period": "2026-01"})
    changed("its charges invoiced")
    systems.erp.create_charge(billing_project_id=project["id"], charge_date="2026-01-20", description="by hand",
                              quantity=Decimal(1), unit_price=50, amount=50, currency="USD", lineage={})
    changed("a charge written straight into the ERP")


def test_a_change_past_the_first_page_moves_the_first_page_s_tag(api, projects):
    project, _ = projects
    create(api, "erp", "/charge-batches", {"charges": [erp_charge(project["id"], 100 + n) for n in range(3)]})
    first_page = tag_of(api, project["id"], limit="2")
    create(api, "erp", "/charges", erp_charge(project["id"], 999))  # lands on the second page
    assert listing(api, project["id"], first_page, limit="2").status_code == 200


def test_the_tag_names_the_page_the_query_asks_for(api, projects):
    project, _ = projects
    create(api, "erp", "/charge-batches", {"charges": [erp_charge(project["id"], 100 + n) for n in range(3)]})
    tags = {tag_of(api, project["id"]), tag_of(api, project["id"], limit="2"),
            tag_of(api, project["id"], status="held")}
    assert len(tags) == 3
    assert listing(api, project["id"], tag_of(api, project["id"], limit="2")).status_code == 200


def test_a_listing_not_narrowed_to_a_project_has_no_tag_and_ignores_if_none_match(api, projects):
    project, _ = projects
    create(api, "erp", "/charges", erp_charge(project["id"], 100))
    response = api("erp", "GET", "/charges", headers={"if-none-match": "*"})
    assert response.status_code == 200 and "etag" not in response.headers
    assert len(response.json()["data"]) == 1


def test_a_page_that_cannot_be_read_is_a_400_even_with_if_none_match(api, projects):
    project, _ = projects
    create(api, "erp", "/charges", erp_charge(project["id"], 100))
    assert listing(api, project["id"], "*", limit="0").status_code == 400
    assert listing(api, project["id"], "*", cursor="not-a-cursor").status_code == 400


def test_a_refused_release_changes_neither_the_charge_nor_the_tag(api, systems, projects):
    project, _ = projects
    held = create(api, "erp", "/charges", {**erp_charge(project["id"], 500), "hold": True})
    tag = tag_of(api, project["id"])
    refused = api("erp", "POST", f"/charges/{held['id']}/release", json={"amount": 900})
    assert refused.status_code == 422
    assert systems.erp.charges[held["id"]].released_at is None
    assert listing(api, project["id"], tag).status_code == 304
