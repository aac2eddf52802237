"""A small API client per system: OAuth2 tokens, JSON, problem details.

Guarantees:

- tokens are refreshed a minute before they expire (by the runtime's
  clock), and a call that still meets a 401 fetches a new token and is
  retried once, so token expiry never surfaces as a failure of the sync;
- after a 429, the client sends nothing more to that system until the
  ``Retry-After`` has passed: a request made in the meantime fails locally
  with :class:`Throttled` (transient, carrying the remaining wait), so the
  connector's inbox defers it instead of the system seeing it early;
- a ``Retry-After`` of 0 ("retry at once": a system served many times
  faster than real time tells its waits in whole wall seconds, rounded
  down) is not taken as leave to hammer it: the client still waits
  :data:`THROTTLE_FLOOR_S`, doubling with each 429 in a row up to
  :data:`THROTTLE_CEILING_S`, and starts from the floor again once the
  system answers anything else. A longer ``Retry-After`` always wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

THROTTLE_FLOOR_S = 0.001  # the least wait after a 429, in the runtime clock's seconds
THROTTLE_CEILING_S = 0.25  # the most that doubling the least wait reaches, however many 429s in a row


class ApiError(Exception):
    """A non-2xx answer."""

    def __init__(self, system: str, method: str, path: str, response: httpx.Response) -> None:
        self.status = response.status_code
        retry_after = response.headers.get("retry-after", "")
        self.retry_after = float(retry_after) if retry_after.isdigit() else None
        try:
            self.problem = response.json()
        except ValueError:
            self.problem = {"detail": response.text}
        super().__init__(f"{system} {method} {path} -> {self.status}: {self.problem.get('detail', '')}")


class Throttled(ApiError):
    """Refused locally: the system asked us to wait and the wait is not over."""

    def __init__(self, system: str, method: str, path: str, wait: float) -> None:
        Exception.__init__(self, f"{system} {method} {path}: throttled for {wait:.0f} s more (Retry-After)")
        self.status = 429
        self.retry_after = wait
        self.problem = {"detail": str(self)}


class SystemClient:
    def __init__(self, http: httpx.Client, system: str, base_url: str, client_id: str, client_secret: str,
                 now: Callable[[], float]) -> None:
        self._now = now
        self._expires_at = 0.0
        self._quiet_until = 0.0  # the end of the last Retry-After this system gave
        self._throttled_in_a_row = 0  # 429s since this system last answered anything else
        self.http = http
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None

    def _fetch_token(self) -> str:
        response = self.http.post(
            self.base_url + "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": self._client_id,
                  "client_secret": self._client_secret},
        )
        if response.status_code != 200:
            raise ApiError(self.system, "POST", "/oauth/token", response)
        body = response.json()
        self._expires_at = self._now() + body["expires_in"] - 60
        return body["access_token"]

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        wait = self._quiet_until - self._now()
        if wait > 0:
            raise Throttled(self.system, method, path, wait)
        for attempt in (1, 2):
            if self._token is None or self._now() >= self._expires_at:
                self._token = self._fetch_token()
            all_headers = {"authorization": f"Bearer {self._token}", **(headers or {})}
            response = self.http.request(method, self.base_url + path, json=json, params=params,
                                         headers=all_headers)
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            if response.status_code == 429:
                retry_after = response.headers.get("retry-after", "")
                told = float(retry_after) if retry_after.isdigit() else 1.0
                self._throttled_in_a_row += 1
                least = min(THROTTLE_CEILING_S, THROTTLE_FLOOR_S * 2 ** (self._throttled_in_a_row - 1))
                self._quiet_until = self._now() + max(told, least)
            else:
                self._throttled_in_a_row = 0
            return response
        return response

    def refusal(self, method: str, path: str, response: httpx.Response) -> ApiError:
        """The error for a non-2xx answer; a 429's ``retry_after`` is the wait this client keeps (at least the one
        it was told)."""
        error = ApiError(self.system, method, path, response)
        if error.status == 429:
            error.retry_after = max(error.retry_after or 0.0, self._quiet_until - self._now())
        return error

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a 2xx response; anything else raises :class:`ApiError`."""
        response = self.request(method, path, **kwargs)
        if not 200 <= response.status_code < 300:
            raise self.refusal(method, path, response)
        return response.json() if response.content else None

    def list_all(self, path: str, params: dict | None = None, page_size: int = 200) -> list[dict[str, Any]]:
        items, _ = self.list_all_if_changed(path, params, page_size)
        assert items is not None, "a read with no If-None-Match is never Not Modified"
        return items

    def list_all_if_changed(self, path: str, params: dict | None = None, page_size: int = 200,
                            etag: str | None = None) -> tuple[list[dict[str, Any]] | None, str | None]:
        """Every page of a listing, and the ``ETag`` of its first page (None if it has none); ``(None, etag)`` when
        ``etag`` is given and still current (304 Not Modified: nothing the listing shows changed since)."""
        items: list[dict[str, Any]] = []
        query = dict(params or {}, limit=str(page_size))
        response = self.request("GET", path, params=query, headers={"if-none-match": etag} if etag else None)
        if response.status_code == 304 and etag:
            return None, etag
        first_tag = response.headers.get("etag")
        while True:
            if not 200 <= response.status_code < 300:
                raise self.refusal("GET", path, response)
            page = response.json()
            items.extend(page["data"])
            if not page.get("next_cursor"):
                return items, first_tag
            query["cursor"] = page["next_cursor"]
            response = self.request("GET", path, params=query)
