"""simulator.forwarding.WebhookPoster: a delivery's POST over one kept-alive connection, its status, and 502 for
a connector that cannot be reached or gives no whole answer."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from mocks.server import LoopbackServer
from simulator.blackbox import free_port
from simulator.forwarding import UNREACHABLE, ForwardingConnector, Unreachable, WebhookPoster
from tests.asgi_body import whole_body


class Endpoint:
    """An ASGI app that records each request and answers 200 with its path, or drops the connection."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.clients: set[tuple[str, int]] = set()
        self.drop = False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = await whole_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append((scope["method"], scope["path"], body, headers))
        self.clients.add(tuple(scope["client"]))
        if self.drop:  # a status line announcing a body that never comes
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"10"), (b"connection", b"close")]})
            return
        status = 204 if scope["path"].endswith("/none") else 200
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"" if status == 204 else json.dumps(scope["path"]).encode()})


def test_posts_the_bytes_and_headers_over_one_connection_and_answers_the_status() -> None:
    endpoint = Endpoint()
    with LoopbackServer(endpoint) as server:
        poster = WebhookPoster(server.base_url + "/hooks/")
        for n in range(3):
            assert poster.post("/webhooks/psa", b'{"n": %d}' % n, {"webhook-id": f"evt_{n}"}) == 200
        assert poster.post("/webhooks/none", b"{}", {}) == 204
        poster.close()
    assert [(method, path, body) for method, path, body, _ in endpoint.seen] == [
        ("POST", "/hooks/webhooks/psa", b'{"n": 0}'), ("POST", "/hooks/webhooks/psa", b'{"n": 1}'),
        ("POST", "/hooks/webhooks/psa", b'{"n": 2}'), ("POST", "/hooks/webhooks/none", b"{}")]
    assert endpoint.seen[1][3]["webhook-id"] == "evt_1"
    assert endpoint.seen[1][3]["content-length"] == "8"
    assert len(endpoint.clients) == 1  # one kept-alive connection


def test_a_connection_the_connector_closed_while_idle_is_opened_afresh() -> None:
    endpoint = Endpoint()
    port = free_port()
    with LoopbackServer(endpoint, port=port) as server:
        poster = WebhookPoster(server.base_url)
        assert poster.post("/webhooks/crm", b"{}", {}) == 200
    with LoopbackServer(endpoint, port=port):  # the old server closed its connections when it stopped
        asyncio.run(asyncio.sleep(0.05))
        assert poster.post("/webhooks/crm", b"{}", {}) == 200
    assert len(endpoint.seen) == 2


def test_a_connector_that_cannot_be_reached_or_answers_short_is_a_502() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    nobody = ForwardingConnector(url, None, WebhookPoster(url))
    delivery = SimpleNamespace(system="erp", body=b"{}", headers={"webhook-id": "evt_1"})
    assert nobody.receive(delivery) == UNREACHABLE == 502
    assert nobody.unreachable == 1
    endpoint = Endpoint()
    endpoint.drop = True
    with LoopbackServer(endpoint) as server:
        short = WebhookPoster(server.base_url)
        with pytest.raises(Unreachable):
            short.post("/webhooks/erp", b"{}", {})
        endpoint.drop = False
        assert short.post("/webhooks/erp", b"{}", {}) == 200  # the broken connection was dropped, a new one used
