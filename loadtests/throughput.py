"""One request, as fast as the server answers it: the load generator of the P3 benchmark.

The benchmark (``tests/benchmarks/test_http_throughput.py``) runs this file
with locust, headless, as a subprocess, once per endpoint, against a bare
Starlette application and against the mock systems, served the same way.
Every user sends the same request again and again, with no wait between
two, over one kept-alive connection; locust counts the answers per second.

The request comes from the environment:

- ``C2C_METHOD`` (``GET`` or ``POST``) and ``C2C_PATH`` (from ``--host``,
  e.g. ``/crm/accounts/acc_000001``);
- ``C2C_BODY`` (optional): a JSON body, sent as it is, except that every
  ``{n}`` becomes a number no other request of the run sent (for a create
  that must be unique, e.g. a PSA project's ``contract_ref``);
- ``C2C_TOKEN`` (optional): sent as ``Authorization: Bearer``, so no token
  request is counted;
- ``C2C_EXPECT`` (optional, default 200): the status every answer must
  have; any other is a failure.

Nothing here is imported by pytest or the simulator (locust patches
sockets and threads process-wide): it runs only as locust's locustfile.
"""

from __future__ import annotations

import itertools
import os

from locust import FastHttpUser, constant, task

METHOD = os.environ.get("C2C_METHOD", "GET").upper()
PATH = os.environ.get("C2C_PATH", "/")
BODY = os.environ.get("C2C_BODY")
EXPECT = int(os.environ.get("C2C_EXPECT", "200"))
HEADERS = {"Content-Type": "application/json"} if BODY is not None else {}
if os.environ.get("C2C_TOKEN"):
    HEADERS["Authorization"] = f"Bearer {os.environ['C2C_TOKEN']}"
NAME = f"{METHOD} {PATH}"
_numbers = itertools.count(1)


class SameRequest(FastHttpUser):
    """Sends ``C2C_METHOD C2C_PATH`` (with ``C2C_BODY``) again and again; an answer other than ``C2C_EXPECT`` fails."""

    wait_time = constant(0)

    @task
    def send(self) -> None:
        body = BODY.replace("{n}", str(next(_numbers))) if BODY is not None and "{n}" in BODY else BODY
        with self.client.request(METHOD, PATH, name=NAME, data=body, headers=HEADERS, catch_response=True) as answer:
            if answer.status_code != EXPECT:
                answer.failure(f"expected {EXPECT}, got {answer.status_code}: {(answer.text or '')[:120]}")
            else:
                answer.success()
