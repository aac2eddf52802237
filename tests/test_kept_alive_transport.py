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
from tests.asgi_body import whole_body


class Endpoint:
    """Answers each request with what it received (JSON), chunked or with a length; or misbehaves as told."""

    def __init__(self) -> None:
        self.clients: list[tuple[str, int]] = []
        self.mode = "ok"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = await whole_body(receive)
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


def _raw_server(answers: list[bytes]) -> tuple[int, list[bytes], threading.Thread]:
    """A server that reads each request on one connection and writes the next canned answer (closing after the
    last); returns its port, what it received, and its thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        peer, _ = listener.accept()
        with peer, listener:
            for answer in answers:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += peer.recv(65536)
                received.append(request)
                peer.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], received, thread


def test_interim_answers_bodiless_answers_and_bodies_up_to_the_close() -> None:
    port, received, thread = _raw_server([
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Folded: a\r\n b\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",  # to a HEAD: no body follows
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nto the close",
    ])
    with httpx.Client(timeout=5.0, transport=KeptAliveTransport()) as client:
        first = client.post(f"http://127.0.0.1:{port}/a", json={"x": 1})
        assert (first.status_code, first.text, first.headers["x-folded"]) == (200, "ok", "a b")
        assert client.delete(f"http://127.0.0.1:{port}/b").status_code == 204
        head = client.head(f"http://127.0.0.1:{port}/c")
        assert (head.status_code, head.content) == (200, b"")
        last = client.get(f"http://127.0.0.1:{port}/d")
        assert (last.status_code, last.text, last.extensions["http_version"]) == (200, "to the close", b"HTTP/1.0")
    thread.join(5)
    assert [r.split(b" ", 2)[:2] for r in received] == [[b"POST", b"/a"], [b"DELETE", b"/b"], [b"HEAD", b"/c"],
                                                         [b"GET", b"/d"]]
    assert b'"x"' in received[0]  # the body came with the request's head


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    with httpx.Client(timeout=5.0, transport=KeptAliveTransport()) as client:
        request = client.build_request("GET", f"http://127.0.0.1:{free_port()}/x")
        request.headers["x-evil"] = "a"
        request.headers._list[-1] = (b"x-evil", b"x-evil", b"a\r\nInjected: yes")
        with pytest.raises(httpx.LocalProtocolError):
            client.send(request)


def test_an_answer_that_is_not_http_is_a_protocol_error() -> None:
    port, _, thread = _raw_server([b"SSH-2.0-OpenSSH\r\n\r\n"])
    with httpx.Client(timeout=5.0, transport=KeptAliveTransport()) as client, \
            pytest.raises(httpx.RemoteProtocolError):
        client.get(f"http://127.0.0.1:{port}/x")
    thread.join(5)
