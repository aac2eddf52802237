"""The connector's HTTP client (``simulator.host.ConnectorClient``) is httpx's, except that it never reads a
response for cookies: the systems set none, and looking cost about 3% of a run."""

from __future__ import annotations

import httpx

from simulator.host import ConnectorClient, SetCookieIgnored


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
