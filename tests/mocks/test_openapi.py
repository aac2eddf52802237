"""The OpenAPI 3.1 documents: valid, checked in as generated, covering exactly the routes, served on both
transports, and describing what the systems really answer after a whole simulated run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from mocks.core.routing import ApiRequest
from mocks.core.service import Service
from mocks.core.webhooks import cloud_event
from mocks.openapi_export import REGENERATE_COMMAND, render_documents, write_documents
from mocks.systems import SYSTEM_NAMES, Systems
from tests.conftest import ROOT

DOCS = ROOT / "docs" / "openapi"
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in render_documents().items()}


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_the_document_is_valid_openapi_3_1(documents, system):
    assert documents[system]["openapi"].startswith("3.1.")
    validate(documents[system])


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_the_checked_in_document_is_what_the_code_generates(system):
    path = DOCS / f"{system}.json"
    generated = render_documents()[system]
    checked_in = path.read_text(encoding="utf-8") if path.exists() else None
    assert checked_in == generated, f"{path.relative_to(ROOT)} is out of date with the routes; run: {REGENERATE_COMMAND}"


def test_write_documents_writes_one_file_per_system(tmp_path: Path):
    written = write_documents(tmp_path / "out")
    assert [p.name for p in written] == [f"{name}.json" for name in SYSTEM_NAMES]
    assert all(p.read_text(encoding="utf-8").endswith("}\n") for p in written)


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_every_route_is_documented_and_nothing_else(systems: Systems, documents, system):
    routes = {(method.lower(), template) for method, template, _ in systems.services[system].routes.specs()
              if not template.startswith("/_c2c/")}
    documented = {(method, path) for path, item in documents[system]["paths"].items() for method in item
                  if method in METHODS}
    assert documented == routes
    assert not any(path.startswith("/_c2c/") for path in documents[system]["paths"])


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_operation_ids_are_unique_and_every_link_names_one(documents, system):
    operations = [op for item in documents[system]["paths"].values() for method, op in item.items() if method in METHODS]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for op in operations:
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ids


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_every_declared_event_is_a_webhook(systems: Systems, documents, system):
    declared = {f"{system}.{name}" for name in systems.backends[system].events}
    assert set(documents[system]["webhooks"]) == declared
    assert set(documents[system]["components"]["schemas"]["ChangeEvent"]["properties"]["type"]["enum"]) == declared


def test_publishing_an_undeclared_event_is_a_bug_caught_where_it_happens(systems: Systems):
    with pytest.raises(ValueError, match="not one of its declared events"):
        systems.crm.publish("account.vanished", "acc_000001", 1)


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_get_openapi_json_answers_without_a_token(api, systems: Systems, system):
    response = api.http.get(api.urls[system] + "/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == systems.services[system].openapi()


# -- the documents against what a whole run left in the systems -------------------------------------------------------


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _get(service: Service, token: str, path: str, query: str = "") -> Any:
    return service.handle(ApiRequest.build("GET", path, query, {"authorization": f"Bearer {token}"}, b""))


def _token(result_systems: Systems, service: Service) -> str:
    form = (f"grant_type=client_credentials&client_id={result_systems.credentials.client_id}"
            f"&client_secret={result_systems.credentials.client_secret}").encode()
    response = service.handle(ApiRequest.build("POST", "/oauth/token", "", {}, form))
    return response.body["access_token"]


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_every_list_and_read_answers_as_documented_after_a_baseline_run(baseline, simulation, system):
    """Every page of every list, one read per entity kind and the whole change feed, validated against the document
    (strict: every member required, none other allowed), with the state a seeded baseline run left behind."""
    systems = simulation(baseline, 1).systems
    service = systems.services[system]
    document = service.openapi()
    token = _token(systems, service)
    checked = 0
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None or path == "/openapi.json":
            continue
        success = operation["responses"]["200"]
        validator = _validator(document, success["content"]["application/json"]["schema"])
        if "{" in path:
            continue  # read below, with ids from the lists
        query = "limit=500"
        while True:
            response = _get(service, token, path, query)
            assert response.status == 200, response.body
            validator.validate(response.body)
            checked += len(response.body["data"])
            cursor = response.body["next_cursor"]
            if path == "/events":
                if not response.body["data"]:
                    break
                query = f"limit=1000&after={cursor}"
            elif cursor is None:
                break
            else:
                query = f"limit=500&cursor={cursor}"
        read = document["paths"].get(f"{path}/{{id}}", {}).get("get")
        for entity in response.body["data"][:1] if read is not None else []:
            reply = _get(service, token, f"{path}/{entity['id']}")
            assert reply.status == 200, reply.body
            _validator(document, read["responses"]["200"]["content"]["application/json"]["schema"]).validate(reply.body)
            assert ("etag" in reply.headers) == ("ETag" in read["responses"]["200"].get("headers", {}))
    assert checked > 0


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_every_webhook_body_is_its_documented_cloud_event(baseline, simulation, system):
    systems = simulation(baseline, 1).systems
    document = systems.services[system].openapi()
    events, _ = systems.backends[system].feed.read(None, 10**9)
    assert events
    for event in events:
        webhook = document["webhooks"][event.type]["post"]
        schema = webhook["requestBody"]["content"]["application/cloudevents+json"]["schema"]
        _validator(document, schema).validate(cloud_event(event))
