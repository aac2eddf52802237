"""The connector's HTTP client (``simulator.connector_client.ConnectorClient``) is httpx's: it never reads a response
for cookies (the systems set none, and looking cost about 3% of a run), and the requests it builds with less work are
the ones httpx builds."""

from __future__ import annotations

import itertools

import httpx

from simulator.connector_client import ConnectorClient, SetCookieIgnored


def test_the_connector_client_is_an_httpx_client_that_takes_no_cookie_from_a_response() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, json={"ok": True})

    with ConnectorClient(transport=httpx.MockTransport(handler)) as client:
        assert isinstance(client, httpx.Client)
        assert client.get("http://erp.c2c.test/v1/charges").json() == {"ok": True}
        client.get("http://erp.c2c.test/v1/charges")
        assert not client.cookies and seen == [None, None]
        client.cookies = {"chosen": "1"}  # what a connector sets itself is still sent
        client.get("http://erp.c2c.test/v1/charges")
        assert isinstance(client.cookies, SetCookieIgnored) and seen[-1] == "chosen=1"


URLS = ["http://erp.c2c.test/charges", "http://erp.c2c.test:8080/v1/charges?status=open", "https://u:p@crm.c2c.test/a%20b",
        "http://psa.c2c.test/timesheets/tms_000001#frag", "http://ÉRP.c2c.test/périodes"]
PARAMS = [None, {}, {"limit": "200"}, {"after": "42", "limit": 500, "types": "a.b,c.d"},
          {"flag": True}, {"flag": 1}, {"flag": 1.0},  # equal keys of a dict, spelled apart in a URL
          {"ids": ["a", "b"]}, [("x", "1"), ("x", "2")], "q=1&r=2", {"e": ""}]
HEADERS = [None, {"authorization": "Bearer t"}, {"Idempotency-Key": "k1", "If-Match": '"3"', "USER-AGENT": "conn/1"},
           [("x-dup", "1"), ("X-Dup", "2")], {"content-type": "application/merge-patch+json"},
           {"Content-Length": "0"}, {"host": "other.c2c.test", "accept": "application/json"}]
METHODS = ["GET", "post", "PUT", "PATCH", "DELETE"]
BODIES = [{}, {"json": {"a": 1, "é": [1.5, None]}}, {"data": {"grant_type": "client_credentials", "k": ["v1", "v2"]}},
          {"json": None}, {"data": {}}, {"json": []}]


def _shape(request: httpx.Request) -> tuple:
    return (request.method, str(request.url), request.headers.raw, request.read(), request.extensions,
            type(request.stream))


def test_a_request_is_the_one_httpx_builds_whatever_its_url_parameters_headers_and_body() -> None:
    plain, ours = httpx.Client(), ConnectorClient()
    shapes = [(url, params, headers, METHODS[i % len(METHODS)], BODIES[i % len(BODIES)])
              for i, (url, params, headers) in enumerate(itertools.product(URLS, PARAMS, HEADERS))]
    shapes += [(URLS[0], PARAMS[3], HEADERS[2], method, body) for method in METHODS for body in BODIES]
    for url, params, headers, method, body in shapes * 2:  # the second time from the URLs kept
        expected = plain.build_request(method, url, params=params, headers=headers, **body)
        got = ours.build_request(method, url, params=params, headers=headers, **body)
        assert _shape(got) == _shape(expected), (method, url, params, headers, body)


def test_the_urls_kept_follow_the_clients_base_url_and_parameters() -> None:
    plain, ours = httpx.Client(base_url="http://erp.c2c.test/v1"), ConnectorClient(base_url="http://erp.c2c.test/v1")
    for client in (plain, ours):
        client.build_request("GET", "/charges", params={"limit": "5"})
    for change in ({"base_url": "http://psa.c2c.test/v2/"}, {"params": {"tenant": "t1"}}, {"params": {}}):
        for client in (plain, ours):
            for name, value in change.items():
                setattr(client, name, value)
        for url, params in (("/charges", {"limit": "5"}), ("/charges", None), ("http://crm.c2c.test/x", {"a": "1"})):
            assert _shape(ours.build_request("GET", url, params=params)) == \
                _shape(plain.build_request("GET", url, params=params)), (change, url, params)


def test_a_request_with_anything_else_is_built_by_httpx_itself() -> None:
    plain, ours = httpx.Client(), ConnectorClient()
    ours.cookies = plain.cookies = {"session": "s1"}
    cases = [{"content": b"raw"}, {"files": {"f": ("a.txt", b"x")}}, {"cookies": {"c": "1"}}, {"timeout": 3.0},
             {"extensions": {"trace": None}}, {"json": {"a": 1}}]
    for case in cases:
        expected = plain.build_request("POST", "http://erp.c2c.test/files", **case)
        got = ours.build_request("POST", "http://erp.c2c.test/files", **case)
        if "files" in case:  # a multipart body's boundary is random: compare everything else
            assert (got.method, str(got.url), len(got.read())) == (expected.method, str(expected.url), len(expected.read()))
        else:
            assert _shape(got) == _shape(expected), case
