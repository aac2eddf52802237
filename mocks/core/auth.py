"""OAuth2 client-credentials tokens that expire on the system's clock.

Guarantee: a token is valid for exactly ``ttl_s`` seconds of the clock the
system runs on (simulated or real); after that every call with it answers
401, as a real SaaS API does, so a connector must refresh. Every 401 carries
a ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3): ``error="invalid_token"``
when a token was sent but is unknown or expired, none when it was missing.
"""

from __future__ import annotations

from collections.abc import Callable

from mocks.core.fields import Choice, Text
from mocks.core.openapi import FORM, Body, Operation, Shape
from mocks.core.problems import BadRequest, Unauthorized
from mocks.core.routing import ApiRequest, ApiResponse

DEFAULT_TTL_S = 3600
GRANT_TYPE = "client_credentials"

TOKEN_OPERATION = Operation(
    "issueToken", "Issue a bearer token (OAuth2 client credentials)",
    Shape({"type": "object", "required": ["access_token", "token_type", "expires_in"], "additionalProperties": False,
           "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                          "expires_in": {"type": "integer", "description": "seconds of the system's clock"}}}),
    body=Body({"grant_type": Choice(choices=(GRANT_TYPE,)), "client_id": Text(), "client_secret": Text()},
              media_type=FORM),
    errors=(401,), public=True,
)


class TokenIssuer:
    def __init__(self, system: str, clients: dict[str, str], now: Callable[[], float], ttl_s: float = DEFAULT_TTL_S) -> None:
        self.system = system
        self.clients = dict(clients)
        self.now = now
        self.ttl_s = ttl_s
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client_id, expires_at)
        self._issued = 0

    def revoke_all(self) -> int:
        """Invalidate every token issued so far (a key rotation, an admin's "log out everywhere")."""
        revoked = len(self._tokens)
        self._tokens.clear()
        return revoked

    def token_endpoint(self, request: ApiRequest) -> ApiResponse:
        from urllib.parse import parse_qsl

        form = dict(parse_qsl(request.body.decode(errors="replace")))
        if form.get("grant_type") != GRANT_TYPE:
            raise BadRequest(f"grant_type must be {GRANT_TYPE}", error="unsupported_grant_type")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if client_id not in self.clients or self.clients[client_id] != secret:
            raise Unauthorized("unknown client_id or wrong client_secret", challenge=self._challenge(),
                               error="invalid_client")
        self._issued += 1
        token = f"{self.system}_tok_{self._issued:08d}"
        self._tokens[token] = (client_id, self.now() + self.ttl_s)
        return ApiResponse(200, {"access_token": token, "token_type": "Bearer", "expires_in": int(self.ttl_s)})

    def _challenge(self, error: str | None = None, description: str | None = None) -> str:
        """A ``WWW-Authenticate`` value for this system's realm (RFC 6750 §3)."""
        challenge = f'Bearer realm="{self.system}"'
        if error is not None:
            challenge += f', error="{error}", error_description="{description}"'
        return challenge

    def authenticate(self, request: ApiRequest) -> str:
        """Return the client id behind the request's bearer token or raise 401 with a Bearer challenge."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorized("missing bearer token; obtain one at POST /oauth/token", challenge=self._challenge())
        entry = self._tokens.get(header[7:])
        if entry is None:
            raise Unauthorized("unknown bearer token", challenge=self._challenge("invalid_token", "unknown token"))
        client_id, expires_at = entry
        if self.now() >= expires_at:
            raise Unauthorized("bearer token expired; obtain a new one at POST /oauth/token",
                               challenge=self._challenge("invalid_token", "token expired"))
        return client_id
