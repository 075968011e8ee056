"""OWASP API5:2023 Broken Function Level Authorization, as a route inventory.

The operations are read from the app's router, not listed here, so a route added tomorrow is
checked tomorrow: every operation is either in `ANONYMOUS` (a deliberate, reviewed list) or
answers 401 to a caller without credentials; every operation whose dependencies include
`admin_principal` answers 403 to a normal user, by bearer token and by API key.
"""

from __future__ import annotations

import httpx
import pytest

from tests.integration.http.conftest import Api, AppFactory, assert_problem
from tests.system.security.inventory import SOME_ID, Operation, operations

ANONYMOUS = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/revoke"),
    ("POST", "/api/v1/auth/introspect"),
    ("POST", "/api/v1/auth/verify-email"),
    ("GET", "/verify-email"),
    ("POST", "/verify-email"),
    ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
    ("GET", "/reset-password"),
    ("POST", "/reset-password"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/errors"),
    ("GET", "/errors/{code}"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    # Discovery (CONTRACT §9): public documents other services read to verify our tokens.
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/jwks.json"),
}
ADMIN = {
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{user_id}"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("GET", "/api/v1/audit-events"),
    ("DELETE", "/api/v1/users/{user_id}"),
    ("GET", "/api/v1/users/{user_id}/sessions"),
    ("DELETE", "/api/v1/users/{user_id}/sessions"),
    ("DELETE", "/api/v1/users/{user_id}/mfa/totp"),
    ("POST", "/api/v1/clients"),
    ("GET", "/api/v1/clients"),
    ("DELETE", "/api/v1/clients/{client_id}"),
}
# What a client's token may call, with the scope each needs; every other route refuses it.
CLIENT_SCOPES = {
    ("GET", "/api/v1/users"): "users:read",
    ("GET", "/api/v1/users/{user_id}"): "users:read",
    ("PATCH", "/api/v1/users/{user_id}"): "users:write",
}


async def _call(api: Api, operation: Operation, headers: dict[str, str]) -> httpx.Response:
    body = {"json": {}} if operation.method in {"POST", "PATCH", "PUT"} else {}
    return await api.client.request(operation.method, operation.url, headers=headers, **body)


async def test_the_inventory_sees_every_kind_of_route(api: Api) -> None:
    found = {(op.method, op.path) for op in operations(api.app)}

    assert found >= ANONYMOUS, ANONYMOUS - found
    assert {(op.method, op.path) for op in operations(api.app) if op.needs_admin} == ADMIN
    assert len(found) >= len(ANONYMOUS) + len(ADMIN) + 6


async def test_every_operation_not_listed_as_anonymous_answers_401_to_nobody(
    api_factory: AppFactory,
) -> None:
    # Three anonymous calls per operation: more than one client address's default allowance.
    api = await api_factory(rate_limit_anonymous="1000/minute")
    protected = [op for op in operations(api.app) if (op.method, op.path) not in ANONYMOUS]
    assert protected

    for operation in protected:
        assert operation.needs_credentials, f"{operation.method} {operation.path} is unguarded"
        for headers in ({}, {"Authorization": "Basic YWRhOnB3"}, {"Authorization": "Bearer"}):
            response = await _call(api, operation, headers)
            assert_problem(response, 401, "not_authenticated")
            assert response.headers["www-authenticate"] == 'Bearer realm="accounts"'


@pytest.mark.parametrize("credential", ["bearer", "api_key"])
async def test_every_admin_operation_answers_403_to_a_normal_user(
    api: Api, credential: str
) -> None:
    victim_id, _ = await api.user("victim@example.com")
    _, headers = await api.user("ada@example.com")
    if credential == "api_key":
        headers = {"X-API-Key": (await api.api_key(headers))["key"]}
    admin_operations = [op for op in operations(api.app) if op.needs_admin]

    for operation in admin_operations:
        # The made-up id and a real user's id: neither may reach the function.
        urls = {operation.url, operation.url.replace(SOME_ID, victim_id)}
        for url in urls:
            body = {"json": {"role": "admin"}} if operation.method in {"PATCH", "POST"} else {}
            response = await api.client.request(operation.method, url, headers=headers, **body)
            assert_problem(response, 403, "forbidden")
            assert "insufficient_scope" in response.headers["www-authenticate"]

    me = await api.client.get("/api/v1/users/me", headers=headers)
    assert me.json()["role"] == "user"


async def test_anonymous_operations_do_not_need_credentials(api: Api) -> None:
    for operation in operations(api.app):
        if (operation.method, operation.path) in ANONYMOUS:
            assert not operation.needs_credentials, operation


async def test_a_clients_token_reaches_only_the_routes_its_scopes_open(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(rate_limit_client="100000/minute")
    _, admin = await api.admin()
    victim_id, _ = await api.user("victim@example.com")
    created = await api.client.post(
        "/api/v1/clients", json={"name": "reader", "scopes": ["users:read"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    client = created.json()
    granted = await api.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    headers = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    protected = [op for op in operations(api.app) if (op.method, op.path) not in ANONYMOUS]
    assert {(op.method, op.path) for op in protected if op.opens_to_clients} == set(CLIENT_SCOPES)

    for operation in protected:
        url = operation.url.replace(SOME_ID, victim_id)
        body = {"json": {"full_name": "x"}} if operation.method in {"POST", "PATCH", "PUT"} else {}
        response = await api.client.request(operation.method, url, headers=headers, **body)
        scope = CLIENT_SCOPES.get((operation.method, operation.path))
        where = f"{operation.method} {operation.path}"
        if scope == "users:read":
            assert response.status_code == 200, where
            continue
        assert_problem(response, 403, "forbidden")
        challenge = 'Bearer realm="accounts", error="insufficient_scope"'
        if scope is not None:
            challenge += f', scope="{scope}"'
        assert response.headers["www-authenticate"] == challenge, where
    victim = await api.client.get(f"/api/v1/users/{victim_id}", headers=admin)
    assert victim.json()["full_name"] == ""
