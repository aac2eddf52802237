"""reference_impl.http_transport.KeptAliveTransport: httpx's client over http.client sends what httpx built and
answers what the server said, keeps connections alive, and fails with httpx's own transport errors."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import httpx
import pytest

from mocks.server import LoopbackServer
from reference_impl.http_transport import KeptAliveTransport
from simulator.blackbox import free_port


class Endpoint:
    """Answers each request with what it received (JSON), chunked or with a length; or misbehaves as told."""

    def __init__(self) -> None:
        self.clients: list[tuple[str, int]] = []
        self.mode = "ok"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.clients.append(tuple(scope["client"]))
        if self.mode == "short":  # a status line announcing a body that never comes
            await send({"type": "http.response.start", "status": 502,
                        "headers": [(b"content-length", b"10"), (b"connection", b"close")]})
            return
        if self.mode == "slow":
            await asyncio.sleep(1.0)
        echo = json.dumps({"method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode(),
                           "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
                           "body": body.decode()}).encode()
        headers = [(b"content-type", b"application/json"), (b"x-answer", b"yes")]
        if scope["path"].endswith("/sized"):
            headers.append((b"content-length", str(len(echo)).encode()))
        if scope["path"].endswith("/close"):
            headers.append((b"connection", b"close"))
        status = 201 if scope["method"] == "POST" else 200
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if scope["path"].endswith("/sized"):
            await send({"type": "http.response.body", "body": echo})
        else:  # uvicorn sends it chunked
            await send({"type": "http.response.body", "body": echo[:10], "more_body": True})
            await send({"type": "http.response.body", "body": echo[10:]})


@pytest.fixture
def served():
    endpoint = Endpoint()
    with LoopbackServer(endpoint) as server:
        yield endpoint, server.base_url


def test_the_request_httpx_built_is_sent_and_the_answer_read(served) -> None:
    endpoint, url = served
    with httpx.Client(timeout=5.0, transport=KeptAliveTransport()) as client, httpx.Client(timeout=5.0) as plain:
        for path in ("/erp/charge-batches", "/erp/sized"):
            mine = client.post(url + path, params={"a": "1 2", "b": "é"}, json={"charges": [{"amount": 5}]},
                               headers={"authorization": "Bearer t", "idempotency-key": "k1"})
            theirs = plain.post(url + path, params={"a": "1 2", "b": "é"}, json={"charges": [{"amount": 5}]},
                                headers={"authorization": "Bearer t", "idempotency-key": "k1"})
            assert mine.status_code == theirs.status_code == 201
            assert mine.json() == theirs.json()  # method, path, query, headers in order, body: byte for byte
            assert mine.headers["x-answer"] == "yes"
        got = client.get(url + "/psa/timesheets/tms_000001").json()
        assert (got["method"], got["path"], got["body"]) == ("GET", "/psa/timesheets/tms_000001", "")
    mine_clients = endpoint.clients[0::2][:2] + [endpoint.clients[-1]]
    assert len(set(mine_clients)) == 1  # one connection, kept alive


def test_a_connection_closed_by_the_server_is_not_used_again(served) -> None:
    endpoint, url = served
    with httpx.Client(timeout=5.0, transport=KeptAliveTransport()) as client:
        assert client.get(url + "/x/close").status_code == 200
        assert client.get(url + "/x/sized").status_code == 200
        assert client.get(url + "/x/sized").status_code == 200
    assert endpoint.clients[0] != endpoint.clients[1] == endpoint.clients[2]


def test_a_connection_the_server_closed_while_idle_is_opened_afresh() -> None:
    endpoint, port = Endpoint(), free_port()
    transport = KeptAliveTransport()
    with httpx.Client(timeout=5.0, transport=transport) as client:
        with LoopbackServer(endpoint, port=port) as server:
            assert client.get(server.base_url + "/x").status_code == 200
        with LoopbackServer(endpoint, port=port) as server:
            assert client.get(server.base_url + "/x").status_code == 200


def test_failures_are_httpx_transport_errors(served) -> None:
    endpoint, url = served
    with httpx.Client(timeout=5.0, transport=KeptAliveTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{free_port()}/x")
        endpoint.mode = "short"
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(url + "/x", json={})
        endpoint.mode = "slow"
        with pytest.raises(httpx.ReadTimeout):
            client.get(url + "/x", timeout=0.2)
        endpoint.mode = "ok"
        assert client.get(url + "/x").status_code == 200  # the failed connections were dropped


def test_a_reset_is_a_read_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def reset_each() -> None:
        peer, _ = listener.accept()
        peer.recv(65536)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        peer.close()  # linger 0: RST

    thread = threading.Thread(target=reset_each, daemon=True)
    thread.start()
    with httpx.Client(timeout=5.0, transport=KeptAliveTransport()) as client, \
            pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get(f"http://127.0.0.1:{port}/x")
    thread.join(5)
    listener.close()
