"""The connector's HTTP client (``simulator.connector_client.ConnectorClient``) is httpx's: it never reads a response
for cookies (the systems set none, and looking cost about 3% of a run), the requests it builds with less work are
the ones httpx builds, and what it sends without httpx's authentication and redirect loops ends as httpx ends it."""

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
           {"Content-Length": "0"}, {"host": "other.c2c.test", "accept": "application/json"},
           {"X-Twice": "1", "x-twice": "2"}, {"Transfer-Encoding": "chunked"}, {"x-raw": b"\xff"}, {"x-text": "\xe9"},
           httpx.Headers({"x-from": "headers"})]
METHODS = ["GET", "post", "PUT", "PATCH", "DELETE"]
BODIES = [{}, {"json": {"a": 1, "é": [1.5, None]}}, {"data": {"grant_type": "client_credentials", "k": ["v1", "v2"]}},
          {"json": None}, {"data": {}}, {"json": []}]


def _shape(request: httpx.Request) -> tuple:
    return (request.method, str(request.url), request.headers.raw, request.read(), request.extensions,
            type(request.stream))


def _built(client: httpx.Client, *args, **kwargs) -> tuple:
    """The request's shape, or the exception httpx raised building it."""
    try:
        return _shape(client.build_request(*args, **kwargs))
    except Exception as exc:
        return type(exc), str(exc)


def test_a_request_is_the_one_httpx_builds_whatever_its_url_parameters_headers_and_body() -> None:
    plain, ours = httpx.Client(), ConnectorClient()
    shapes = [(url, params, headers, METHODS[i % len(METHODS)], BODIES[i % len(BODIES)])
              for i, (url, params, headers) in enumerate(itertools.product(URLS, PARAMS, HEADERS))]
    shapes += [(URLS[0], PARAMS[3], headers, method, body) for method in METHODS for headers in HEADERS for body in BODIES]
    for url, params, headers, method, body in shapes * 2:  # the second time from the URLs kept
        expected = _built(plain, method, url, params=params, headers=headers, **body)
        assert _built(ours, method, url, params=params, headers=headers, **body) == expected, \
            (method, url, params, headers, body)
    for client in (plain, ours):  # the client's own headers, not ASCII: httpx's Headers merge them
        client.headers["X-Client"] = "\xfc"
    for headers in HEADERS:
        assert _built(ours, "POST", URLS[0], headers=headers, json={}) == \
            _built(plain, "POST", URLS[0], headers=headers, json={}), headers


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


def _answered(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/timeout":
        raise httpx.ReadTimeout("no response", request=request)
    if request.url.path == "/moved":
        return httpx.Response(302, headers={"location": "/elsewhere"})
    if request.url.path == "/bad-location":
        return httpx.Response(301, headers={"location": "http://[bad"})
    return httpx.Response(200 if request.url.path == "/ok" else 500,
                          json={"path": request.url.path, "authorization": request.headers.get("authorization")})


def _sent(client: httpx.Client, url: str, **kwargs) -> tuple:
    """What sending ``url`` left: the response (or the exception) as the connector sees it, and the client's state."""
    try:
        response = client.send(client.build_request("GET", url), **kwargs)
    except Exception as exc:
        return type(exc), str(exc), getattr(exc, "request", None) is not None, client._state
    next_request = response.next_request
    try:
        elapsed = response.elapsed
    except RuntimeError:
        elapsed = None
    return (response.status_code, response.headers.raw, response.read(), response.history, response.is_closed,
            response.is_stream_consumed, response.default_encoding, response.request.url, elapsed is None,
            next_request and (next_request.method, str(next_request.url)), client._state)


def test_a_response_is_sent_and_read_as_httpx_sends_and_reads_it() -> None:
    for path in ("/ok", "/failing", "/moved", "/bad-location", "/timeout"):
        for kwargs in ({}, {"follow_redirects": False}, {"auth": ("u", "p")}):
            plain = httpx.Client(transport=httpx.MockTransport(_answered))
            ours = ConnectorClient(transport=httpx.MockTransport(_answered))
            for url in (f"http://erp.c2c.test{path}", f"http://user:pw@erp.c2c.test{path}"):
                assert _sent(ours, url, **kwargs) == _sent(plain, url, **kwargs), (path, kwargs, url)
            for client in (plain, ours):  # a client that has sent cannot be opened again, and a closed one sends nothing
                client.close()
            assert _sent(ours, "http://erp.c2c.test/ok") == _sent(plain, "http://erp.c2c.test/ok")
