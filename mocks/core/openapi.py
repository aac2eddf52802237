"""OpenAPI 3.1 documents generated from the route tables.

Each route is registered with its :class:`Operation` (``routes.add(method,
template, handler, spec=Operation(...))``), so an endpoint is defined once,
where it is routed. :func:`build_document` turns a system's
:class:`~mocks.core.service.Service` into its document; the service serves
it at ``GET /openapi.json`` and ``python -m mocks.openapi_export`` writes it
to ``docs/openapi/``.

Where each part of the document comes from:

- request bodies: the :mod:`mocks.core.fields` the handler reads them with
  (lengths, bounds, choices, required), so schema and validation agree;
- response bodies: the entity dataclasses ``to_json`` renders, through
  pydantic's JSON Schema of their fields (:class:`Entity` names what
  ``to_json`` leaves out or adds); every member is required and no other
  member is allowed, so a response that drifts from its schema fails a test;
- errors: RFC 9457 problem documents for the statuses the route can answer
  (401 and 429 on every authenticated route, 404 where the path names an
  entity, 400 and 422 where a JSON body is read, 412 on conditional writes,
  409 and 422 for ``Idempotency-Key`` where the system honours it, plus the
  route's own); what a schema cannot state is listed as the operation's
  ``x-c2c-rules``, each answered with a 422 naming the field;
- security: OAuth2 client credentials at ``oauth/token``; public routes
  (the token endpoint, the document itself) say ``security: []``;
- ``links``: from a response to the operations it leads to, with the path
  parameters taken from the response body and ``If-Match`` from its
  ``ETag``, so a client (or schemathesis' state machine) can chain create,
  read and conditional update;
- ``webhooks``: one per event type the backend declares
  (:attr:`~mocks.core.backend.Backend.events`), each the signed CloudEvents
  envelope of :func:`mocks.core.webhooks.cloud_event`.

Routes registered without a spec (the ``/_c2c`` control endpoints, which
only the harness uses) are left out of the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from mocks.core.feed import CHANGE_EVENT_SCHEMA
from mocks.core.fields import Fields, object_schema
from mocks.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mocks.core.webhooks import CLOUD_EVENT_SCHEMA, SIGNATURE_HEADERS

if TYPE_CHECKING:
    from mocks.core.service import Service

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"  # the mocks' HTTP API, versioned on its own
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
PROBLEM_JSON = "application/problem+json"
SCHEMAS = "#/components/schemas/"

# The path parameter every `{name}` in a template is, unless the operation says otherwise.
ID_PARAMETER = {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Entity:
    """A response body that is one entity: the JSON Schema of ``cls``'s fields as its ``to_json`` renders them.

    ``omit`` names fields ``to_json`` leaves out, ``include`` dataclasses whose
    fields it renders at the top level too, ``extra`` members it adds.
    ``etag`` says whether a response carrying it has an ``ETag`` header: by
    default, when the entity has a ``version`` (see
    :func:`mocks.core.etag.entity_response`).
    """

    cls: type
    name: str = ""
    omit: tuple[str, ...] = ()
    include: tuple[type, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    etag: bool | None = None

    @property
    def component(self) -> str:
        return self.name or self.cls.__name__

    @property
    def has_etag(self) -> bool:
        return hasattr(self.cls, "version") if self.etag is None else self.etag

    def schema(self, components: Components) -> dict[str, Any]:
        return components.entity(self)

    def json_schema(self, components: Components) -> dict[str, Any]:
        properties = {name: value for name, value in components.fields_of(self.cls).items() if name not in self.omit}
        for other in self.include:
            properties.update(components.fields_of(other))
        properties.update(self.extra)
        return {"type": "object", "properties": properties}


@dataclass(frozen=True)
class Page:
    """One page of a paginated list: ``{"data": [item...], "next_cursor": str | null}``."""

    item: Entity | Mapping[str, Any]

    @property
    def has_etag(self) -> bool:
        return False

    def schema(self, components: Components) -> dict[str, Any]:
        return {"type": "object", "properties": {
            "data": {"type": "array", "items": components.schema_of(self.item)},
            "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}],
                            "description": "pass as `cursor` for the next page; null on the last page"},
        }}


@dataclass(frozen=True)
class Items:
    """An object holding an array of entities under ``key`` (``{"data": [...]}``)."""

    item: Entity
    key: str = "data"

    @property
    def has_etag(self) -> bool:
        return False

    def schema(self, components: Components) -> dict[str, Any]:
        return {"type": "object", "properties": {self.key: {"type": "array", "items": components.schema_of(self.item)}}}


@dataclass(frozen=True)
class Shape:
    """A response body given as a JSON Schema."""

    body: Mapping[str, Any]

    @property
    def has_etag(self) -> bool:
        return False

    def schema(self, components: Components) -> dict[str, Any]:
        return dict(self.body)


Reply = Entity | Page | Items | Shape


@dataclass(frozen=True)
class Body:
    """A request body of declared fields; ``closed`` refuses other members, ``partial`` requires none (PATCH)."""

    fields: Fields
    closed: bool = False
    partial: bool = False
    required: bool = True
    media_type: str = JSON

    def schema(self) -> dict[str, Any]:
        return object_schema(self.fields, closed=self.closed, partial=self.partial)


@dataclass(frozen=True)
class Operation:
    """What one route accepts and answers; the OpenAPI document is generated from these.

    ``errors`` are the statuses the route answers beyond those the
    document derives (see the module docstring); ``rules`` what its schema
    cannot state, each a 422; ``conditional`` that it honours ``If-Match``;
    ``links`` the operation ids its success leads to; ``public`` that it
    needs no bearer token; ``revalidated`` the filter that makes a listing a
    conditional read (a page narrowed by it carries an ``ETag``, and
    ``If-None-Match`` naming that tag is answered 304).
    """

    id: str
    summary: str
    returns: Reply
    status: int = 200
    body: Body | None = None
    query: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    rules: tuple[str, ...] = ()
    conditional: bool = False
    links: tuple[str, ...] = ()
    public: bool = False
    description: str = ""
    revalidated: str | None = None


def page_query(*filters: str) -> dict[str, dict[str, Any]]:
    """The query parameters of a paginated list (:mod:`mocks.core.pagination`) and its exact-match filters."""
    query: dict[str, dict[str, Any]] = {
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT,
                  "description": "items per page"},
        "cursor": {"type": "string", "format": "page-cursor",
                   "description": "the `next_cursor` of the previous page (opaque; one this API did not issue is a 400)"},
    }
    for name in filters:
        query[name] = {"type": "string", "description": f"only items whose `{name}` is exactly this"}
    return query


def listing(operation_id: str, summary: str, item: Entity | Mapping[str, Any], *filters: str,
            revalidated: str | None = None) -> Operation:
    """``GET /collection``: a page of ``item``, filtered by exact matches on ``filters``; a conditional read when
    narrowed by the filter ``revalidated`` names."""
    return Operation(operation_id, summary, Page(item), query=page_query(*filters), errors=(400,),
                     revalidated=revalidated)


def reading(operation_id: str, summary: str, item: Entity, links: tuple[str, ...] = ()) -> Operation:
    """``GET /collection/{id}``: one entity (404 if there is none)."""
    return Operation(operation_id, summary, item, links=links)


# -- the document ------------------------------------------------------------------------------------------------


class Components:
    """The component schemas of one document, strict (all members required, no others) and named by entity."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}
        self._entities: dict[str, Entity] = {}

    def entity(self, entity: Entity) -> dict[str, Any]:
        """A reference to ``entity``'s component schema, defined on first use; one name is one entity."""
        name = entity.component
        known = self._entities.setdefault(name, entity)
        if known != entity:
            raise ValueError(f"two different entities are both called {name}: {known} and {entity}")
        if name not in self.schemas:
            self.schemas[name] = _strict(entity.json_schema(self))
        return {"$ref": SCHEMAS + name}

    def schema_of(self, item: Entity | Mapping[str, Any]) -> dict[str, Any]:
        return item.schema(self) if isinstance(item, Entity) else _strict(dict(item))

    def fields_of(self, cls: type) -> dict[str, Any]:
        """The properties of a dataclass's fields as JSON renders them (pydantic's serialization schema)."""
        schema = TypeAdapter(cls).json_schema(mode="serialization", ref_template=SCHEMAS + "{model}")
        for name, definition in schema.get("$defs", {}).items():
            self.schemas.setdefault(name, _strict(definition))
        return schema["properties"]


def _strict(schema: Any) -> Any:
    """``schema`` without pydantic's titles and defaults, each object requiring all its members and no others."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items() if key not in ("title", "default")}
    if "properties" in schema and schema.get("type") == "object":
        strict["properties"] = {name: _strict(value) for name, value in schema["properties"].items()}
        strict["required"] = list(schema["properties"])
        strict["additionalProperties"] = False
    return strict


def _problem_responses() -> dict[int, tuple[str, str, dict[str, Any]]]:
    """Status -> (component name, description, headers) of every problem a route may answer."""
    www_authenticate = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"},
                                             "description": "the Bearer challenge (RFC 6750)"}}
    retry_after = {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1},
                                   "description": "seconds to wait before the next request"}}
    return {
        400: ("BadRequest", "Malformed request: a body that is not JSON, a bad query parameter, a cursor this API "
                            "did not issue (`bad_request`); at the token endpoint, an unsupported grant.", {}),
        401: ("Unauthorized", "Missing, unknown or expired bearer token (`unauthorized`); at the token endpoint, "
                              "unknown client credentials (`invalid_client`).", www_authenticate),
        404: ("NotFound", "No such entity (`not_found`); `detail` names it.", {}),
        409: ("Conflict", "The entity's state does not allow this (`conflict`, `illegal_transition`), or the first "
                          "request with this Idempotency-Key is still running (`idempotency_in_progress`).", {}),
        410: ("Gone", "The cursor is older than the feed's retention (`cursor_expired`): resynchronise from current "
                      "state, then read on from `head_cursor`.", {}),
        412: ("PreconditionFailed", "`If-Match` names a version that is no longer current (`precondition_failed`): "
                                    "read again and retry.", {}),
        422: ("ValidationFailed", "A field is invalid (`validation_error`; `field` names it, e.g. `charges[3].amount`), "
                                  "or an Idempotency-Key was reused for another request (`idempotency_error`).", {}),
        429: ("RateLimited", "Rate limit exceeded (`rate_limited`); send nothing to this system before `Retry-After` "
                             "seconds have passed.", retry_after),
    }


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document; extension members (`field`, `current_status`, `existing_id`, ...) "
                   "say more.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "https://c2c.dev/problems/<kind>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "the HTTP status code"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string", "description": "the offending field (422)"},
    },
}


def build_document(service: Service) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``service``: every route registered with a spec, and the events as webhooks.

    The result is plain JSON data and depends only on the route table and
    the backend's declared events, so the same code gives the same document.
    """
    system = service.name
    components = Components()
    statuses_used: set[int] = set()
    specs = {spec.id: (method, template, spec) for method, template, spec in service.routes.specs() if spec is not None}
    paths: dict[str, dict[str, Any]] = {}
    for method, template, spec in service.routes.specs():
        if spec is None:
            continue
        idempotent = service.idempotency is not None and method == "POST" and not spec.public
        operation = _operation(method, template, spec, idempotent, specs, components)
        statuses_used.update(int(status) for status in operation["responses"] if int(status) >= 400)
        paths.setdefault(template, {})[method.lower()] = operation
    events = {f"{system}.{name}": description for name, description in service.backend.events.items()}
    problems = _problem_responses()
    components.schemas["Problem"] = PROBLEM_SCHEMA
    components.schemas["CloudEvent"] = CLOUD_EVENT_SCHEMA
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"c2c mock {system.upper()}",
            "version": API_VERSION,
            "description": f"The {system.upper()} mock of c2c. Generated from its route table "
                           "(mocks/core/openapi.py); the /_c2c control endpoints, which only the harness uses, are "
                           "left out. Every write is answered from current state; events are thin (see `webhooks` and "
                           "`GET /events`).",
        },
        "servers": [
            {"url": f"http://{system}.c2c.test/", "description": "in a simulation: the in-process transport "
                                                                 f"(`runtime.urls['{system}']`)"},
            {"url": f"http://{{authority}}/{system}/", "description": "served over HTTP (`c2c serve`)",
             "variables": {"authority": {"default": "127.0.0.1:8000", "description": "the address it announces"}}},
        ],
        "security": [{"oauth2": []}],
        "paths": paths,
        "webhooks": {event: _webhook(event, description) for event, description in events.items()},
        "components": {
            "schemas": {**components.schemas, "ChangeEvent": _change_event_schema(events)},
            "responses": {name: _problem_response(description, headers)
                          for status, (name, description, headers) in problems.items() if status in statuses_used},
            "securitySchemes": {"oauth2": {
                "type": "oauth2",
                "description": "Client credentials (`runtime.credentials`); a token lives 3600 s of the system's "
                               "clock, then every call with it is a 401: fetch a new one.",
                "flows": {"clientCredentials": {"tokenUrl": "oauth/token", "scopes": {}}},
            }},
        },
    }
    _prune(document)
    return document


def _operation(method: str, template: str, spec: Operation, idempotent: bool,
               specs: Mapping[str, tuple[str, str, Operation]], components: Components) -> dict[str, Any]:
    path_names = [segment[1:-1] for segment in template.split("/") if segment.startswith("{")]
    parameters = [{"name": name, "in": "path", "required": True, "schema": dict(spec.path.get(name, ID_PARAMETER))}
                  for name in path_names]
    for name, schema in spec.query.items():
        schema = dict(schema)
        description = schema.pop("description", "")
        parameters.append({"name": name, "in": "query", "required": False, "schema": schema,
                           **({"description": description} if description else {})})
    statuses = set(spec.errors)
    if not spec.public:
        statuses |= {401, 429}
    if path_names:
        statuses.add(404)
    if spec.body is not None:
        statuses |= {400, 422} if spec.body.media_type == JSON else {400}
    if spec.rules:
        statuses.add(422)
    if spec.conditional:
        statuses.add(412)
        parameters.append({"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": "the `ETag` last read (or `*`); a stale one is a 412, none is accepted"})
    if spec.revalidated:
        parameters.append({"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": f"with `{spec.revalidated}`: the `ETag` of a page read before; if "
                                          "nothing it lists has changed since, the answer is a 304 without the page"})
    if idempotent:
        statuses |= {409, 422}
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": "the same key with the same request replays the first answer "
                                          "(24 h); with another request it is a 422"})
    success: dict[str, Any] = {"description": spec.summary,
                               "content": {JSON: {"schema": _strict(spec.returns.schema(components))}}}
    headers = {}
    if spec.returns.has_etag:
        headers["ETag"] = {"required": True, "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
                           "description": "the entity's version; send it as `If-Match` to update it"}
    if spec.revalidated:
        headers["ETag"] = {"required": False, "schema": {"type": "string", "pattern": '^"[0-9a-f]+"$'},
                           "description": f"on a page narrowed by `{spec.revalidated}`: changes whenever an item of "
                                          "that group changes; send it as `If-None-Match` to read the page again only "
                                          "if it did"}
    if idempotent:
        headers["Idempotent-Replayed"] = {"required": False, "schema": {"type": "string", "enum": ["true"]},
                                          "description": "present on an answer replayed for a repeated key"}
    if headers:
        success["headers"] = headers
    links = {target: _link(spec, specs[target]) for target in spec.links}
    if links:
        success["links"] = links
    problems = _problem_responses()
    operation: dict[str, Any] = {
        "operationId": spec.id,
        "summary": spec.summary,
        "tags": [template.strip("/").split("/")[0]],
        "responses": {str(spec.status): success,
                      **{str(status): {"$ref": f"#/components/responses/{problems[status][0]}"}
                         for status in sorted(statuses)}},
    }
    if spec.revalidated:
        operation["responses"]["304"] = {
            "description": "Not Modified: nothing the page lists changed since the `ETag` sent as `If-None-Match`",
            "headers": {"ETag": {"required": True, "schema": {"type": "string"},
                                 "description": "the tag sent, still current"}}}
        operation["responses"] = dict(sorted(operation["responses"].items()))
    description = spec.description
    if spec.rules:
        description += ("\n\n" if description else "") + "Rules beyond the schema (each a 422 naming the field):\n" + \
            "\n".join(f"- {rule}" for rule in spec.rules)
        operation["x-c2c-rules"] = list(spec.rules)
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {"required": spec.body.required,
                                    "content": {spec.body.media_type: {"schema": spec.body.schema()}}}
    if spec.public:
        operation["security"] = []
    return operation


def _link(source: Operation, target: tuple[str, str, Operation]) -> dict[str, Any]:
    """A link to ``target``: its path parameters from the response body, ``If-Match`` from the ``ETag``."""
    _, template, spec = target
    parameters = {segment[1:-1]: f"$response.body#/{segment[1:-1]}"
                  for segment in template.split("/") if segment.startswith("{")}
    if spec.conditional and source.returns.has_etag:
        parameters["header.If-Match"] = "$response.header.ETag"
    return {"operationId": spec.id, "parameters": parameters}


def _problem_response(description: str, headers: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {PROBLEM_JSON: {"schema": {"$ref": SCHEMAS + "Problem"}}}}
    if headers:
        response["headers"] = headers
    return response


def _change_event_schema(events: Mapping[str, str]) -> dict[str, Any]:
    schema = _strict(CHANGE_EVENT_SCHEMA)
    schema["properties"]["type"] = {"type": "string", "enum": list(events)}
    return schema


def _webhook(event: str, description: str) -> dict[str, Any]:
    envelope = {"allOf": [{"$ref": SCHEMAS + "CloudEvent"},
                          {"properties": {"type": {"const": event}}}]}
    return {"post": {
        "operationId": f"on.{event}",
        "summary": description,
        "tags": ["webhooks"],
        "security": [],
        "parameters": [{"name": name, "in": "header", "required": True, "schema": {"type": "string"},
                        "description": about} for name, about in SIGNATURE_HEADERS.items()],
        "requestBody": {"required": True, "content": {"application/cloudevents+json": {"schema": envelope}}},
        "responses": {
            "2XX": {"description": "Acknowledged: the sender will not send this message again."},
            "default": {"description": "Not acknowledged: the sender retries after 5 s, 5 min, 30 min, 2 h, 5 h, "
                                       "10 h and 10 h, then gives up."},
        },
    }}


def _prune(document: dict[str, Any]) -> None:
    """Drop component schemas nothing refers to (pydantic defines every nested dataclass, used or not)."""
    schemas = document["components"]["schemas"]
    used: set[str] = set()
    pending = [value for key, value in document.items() if key != "components"]
    pending += [document["components"]["responses"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMAS) and ref[len(SCHEMAS):] not in used:
                used.add(ref[len(SCHEMAS):])
                pending.append(schemas[ref[len(SCHEMAS):]])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    for name in set(schemas) - used:
        del schemas[name]
