"""The in-process transport's responses are the ones httpx makes: ``mocks.core.transport.answer`` builds in a few
steps what ``httpx.Response(status, headers=..., content=..., request=...)`` builds by reading the body back."""

from __future__ import annotations

import httpx
import pytest

from mocks.core import transport
from mocks.core.transport import _state, answer, read_response

REQUEST = httpx.Request("POST", "http://erp.c2c.test/charge-batches")

CASES = [
    (201, {"content-type": "application/json"}, b'{"data":[{"id":"chg_000001"}]}'),
    (200, {"content-type": "application/json", "etag": '"7"', "idempotent-replayed": "true"}, b"{}"),
    (204, {"content-type": "application/json"}, b""),
    (200, {"content-type": "application/json", "content-length": "2"}, b"{}"),
    (200, {"Content-Encoding": "identity", "content-type": "text/plain"}, b"plain"),
    (429, {"content-type": "application/problem+json", "retry-after": "3"}, b'{"status":429}'),
    (302, {"location": "http://erp.c2c.test/elsewhere"}, b""),
    (200, {"x-latin": "caf\xe9".encode("latin-1").decode("latin-1")}, "é".encode()),
]


def test_the_fast_construction_is_in_use_with_the_installed_httpx() -> None:
    assert transport._same_as_httpx() and answer is transport._answer


@pytest.mark.parametrize(("status", "headers", "content"), CASES)
def test_an_answer_is_the_response_httpx_makes(status: int, headers: dict[str, str], content: bytes) -> None:
    try:
        expected = read_response(status, headers, content, REQUEST)
    except UnicodeEncodeError:  # httpx refuses a header it cannot send: so does the answer
        with pytest.raises(UnicodeEncodeError):
            answer(status, headers, content, REQUEST)
        return
    got = answer(status, headers, content, REQUEST)
    assert _state(got) == _state(expected)
    assert (got.status_code, got.headers.raw, got.content, got.text, got.is_closed, got.request) == \
           (expected.status_code, expected.headers.raw, expected.content, expected.text, expected.is_closed, REQUEST)
    if content.startswith(b"{"):
        assert got.json() == expected.json()
    with pytest.raises(RuntimeError):  # neither was timed: nothing went over a wire
        _ = got.elapsed


def test_a_client_reads_an_answer_as_it_reads_httpxs_own() -> None:
    def client(make) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(lambda request: make(201, {"content-type": "application/json"},
                                                                                b'{"id":"x"}', request)))
    got, expected = (client(make).post("http://erp.c2c.test/x", json={}) for make in (answer, read_response))
    assert (got.status_code, got.headers.raw, got.json(), got.is_closed, got.is_stream_consumed) == \
           (expected.status_code, expected.headers.raw, expected.json(), expected.is_closed, expected.is_stream_consumed)
