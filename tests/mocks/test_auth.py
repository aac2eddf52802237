"""OAuth2 client credentials with tokens that expire on the system's clock (mocks/core/auth.py)."""

from __future__ import annotations

import pytest

from tests.mocks.factories import assert_problem


def token(api, system: str = "crm", secret: str | None = None, client_id: str | None = None):
    return api.http.post(api.urls[system] + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id or api.credentials.client_id,
        "client_secret": api.credentials.client_secret if secret is None else secret})


def get_accounts(api, bearer: str | None, system: str = "crm", path: str = "/accounts"):
    headers = {"authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return api.http.get(api.urls[system] + path, headers=headers)


def test_token_endpoint_issues_a_bearer_token(api):
    response = token(api)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert get_accounts(api, body["access_token"]).status_code == 200


@pytest.mark.parametrize("system", ["crm", "clm", "psa", "erp"])
def test_no_token_is_401_on_every_system(api, system):
    path = {"crm": "/accounts", "clm": "/contracts", "psa": "/timesheets", "erp": "/customers"}[system]
    assert_problem(get_accounts(api, None, system, path), 401, "unauthorized")


def test_unknown_or_malformed_token_is_401(api):
    assert_problem(get_accounts(api, "crm_tok_99999999"), 401)
    response = api.http.get(api.urls["crm"] + "/accounts", headers={"authorization": "Basic abc"})
    assert_problem(response, 401)


def test_wrong_secret_is_401_invalid_client(api):
    body = assert_problem(token(api, secret="wrong"), 401)
    assert body["error"] == "invalid_client"
    body = assert_problem(token(api, client_id="stranger"), 401)
    assert body["error"] == "invalid_client"


def test_wrong_grant_type_is_400(api):
    response = api.http.post(api.urls["crm"] + "/oauth/token", data={
        "grant_type": "password", "client_id": api.credentials.client_id,
        "client_secret": api.credentials.client_secret})
    assert assert_problem(response, 400)["error"] == "unsupported_grant_type"


def test_token_from_one_system_is_not_valid_on_another(api):
    crm_token = token(api, "crm").json()["access_token"]
    assert_problem(get_accounts(api, crm_token, "erp", "/customers"), 401)


def test_token_expires_after_3600_seconds_of_the_clock(api, clock):
    bearer = token(api).json()["access_token"]
    clock.advance(3599)
    assert get_accounts(api, bearer).status_code == 200

    clock.advance(1)
    expired = get_accounts(api, bearer)

    body = assert_problem(expired, 401, "unauthorized")
    assert "expired" in body["detail"]
    fresh = token(api).json()["access_token"]
    assert fresh != bearer
    assert get_accounts(api, fresh).status_code == 200
    assert get_accounts(api, bearer).status_code == 401


def test_expiry_does_not_depend_on_the_wall_clock(api, clock):
    bearer = token(api).json()["access_token"]
    clock.advance(7 * 24 * 3600)
    assert get_accounts(api, bearer).status_code == 401


def test_token_endpoint_needs_no_bearer(api):
    assert token(api).status_code == 200  # no authorization header sent


def test_401_names_the_bearer_scheme(api):
    assert get_accounts(api, None).headers["www-authenticate"].startswith("Bearer")


def test_401_for_a_bad_token_says_invalid_token(api, clock):
    unknown = get_accounts(api, "crm_tok_99999999").headers["www-authenticate"]
    assert unknown.startswith('Bearer realm="crm"') and 'error="invalid_token"' in unknown

    bearer = token(api).json()["access_token"]
    clock.advance(3600)
    expired = get_accounts(api, bearer).headers["www-authenticate"]
    assert 'error="invalid_token"' in expired and "expired" in expired

    missing = get_accounts(api, None).headers["www-authenticate"]
    assert missing == 'Bearer realm="crm"'  # RFC 6750 §3.1: no error code when no credentials were sent


@pytest.mark.parametrize("system", ["crm", "clm", "psa", "erp"])
def test_every_401_carries_a_challenge(api, system):
    path = {"crm": "/accounts", "clm": "/contracts", "psa": "/timesheets", "erp": "/customers"}[system]
    assert get_accounts(api, None, system, path).headers["www-authenticate"] == f'Bearer realm="{system}"'
    assert token(api, system, secret="wrong").headers["www-authenticate"].startswith("Bearer")


def test_successful_responses_carry_no_challenge(api):
    assert "www-authenticate" not in token(api).headers
    assert "www-authenticate" not in get_accounts(api, token(api).json()["access_token"]).headers
