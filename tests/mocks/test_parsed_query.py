"""A request's query is ``dict(parse_qsl(query, keep_blank_values=True))`` whether its parse was kept or made afresh,
and each request gets a dict of its own."""

from __future__ import annotations

from urllib.parse import parse_qsl

from mocks.core.routing import ApiRequest, parsed_query

QUERIES = ["", "limit=200", "after=42&limit=500&types=erp.invoice.posted%2Cerp.period.opened", "a=1&a=2", "x=&y",
           "%ZZ=1", "a=1;b=2", "+=%20", "k=v=w", "cursor=cDIwMA"]


def test_a_query_is_parsed_as_parse_qsl_parses_it_the_first_time_and_the_next() -> None:
    for query in QUERIES * 2:
        assert parsed_query(query) == dict(parse_qsl(query, keep_blank_values=True)), query


def test_each_request_gets_its_own_query_dict() -> None:
    first = ApiRequest.build("GET", "/events", "limit=200", {}, b"")
    first.query["limit"] = "1"
    assert ApiRequest.build("GET", "/events", "limit=200", {}, b"").query == {"limit": "200"}
