"""Clients (service accounts) over HTTP: management, the client-credentials grant, scopes on
this service's routes, and RFC 7662 introspection, against real Postgres."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest

from tests.integration.http.conftest import (
    Api,
    AppFactory,
    assert_oauth_error,
    assert_problem,
    bearer,
)

TOKEN = "/api/v1/auth/token"
INTROSPECT = "/api/v1/auth/introspect"


async def register_client(
    api: Api, admin: dict[str, str], *scopes: str, name: str = "billing"
) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/clients", json={"name": name, "scopes": list(scopes)}, headers=admin
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def client_token(api: Api, client: dict[str, Any], **form: str) -> httpx.Response:
    return await api.client.post(
        TOKEN,
        data={"grant_type": "client_credentials", **form},
        headers=basic(client["client_id"], client["client_secret"]),
    )


async def client_bearer(api: Api, client: dict[str, Any], **form: str) -> dict[str, str]:
    response = await client_token(api, client, **form)
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def introspect(api: Api, client: dict[str, Any], token: str, **form: str) -> dict[str, Any]:
    response = await api.client.post(
        INTROSPECT,
        data={"token": token, **form},
        headers=basic(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def assert_invalid_client(response: httpx.Response, *, basic_challenge: bool) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == body["code"] == "invalid_client"
    if basic_challenge:
        assert response.headers["www-authenticate"] == 'Basic realm="accounts"'
    else:
        assert "www-authenticate" not in response.headers


async def test_admin_registers_lists_and_deletes_clients_and_the_secret_is_shown_once(
    api: Api,
) -> None:
    admin_id, admin = await api.admin()

    created = await register_client(api, admin, "users:read", name="billing service")

    assert set(created) == {"client_id", "client_secret", "name", "scopes", "created_at"}
    assert created["client_id"].startswith("cli_")
    assert len(created["client_secret"]) >= 43
    assert created["scopes"] == ["users:read"]
    listed = await api.client.get("/api/v1/clients", headers=admin)
    assert listed.status_code == 200
    assert [item["client_id"] for item in listed.json()["items"]] == [created["client_id"]]
    assert created["client_secret"] not in listed.text
    deleted = await api.client.delete(f"/api/v1/clients/{created['client_id']}", headers=admin)
    assert deleted.status_code == 204
    again = await api.client.delete(f"/api/v1/clients/{created['client_id']}", headers=admin)
    assert_problem(again, 404, "client_not_found")
    events = await api.client.get(
        "/api/v1/audit-events", params={"actor_id": admin_id}, headers=admin
    )
    by_type = {event["type"]: event for event in events.json()["items"]}
    assert by_type["client.created"]["subject_id"] is None
    assert by_type["client.created"]["details"]["client_id"] == created["client_id"]
    assert by_type["client.deleted"]["details"] == {"client_id": created["client_id"]}
    assert created["client_secret"] not in events.text


async def test_client_management_refuses_unknown_scopes_users_and_api_keys(api: Api) -> None:
    _, admin = await api.admin()
    _, user = await api.user("ada@example.com")

    unknown = await api.client.post(
        "/api/v1/clients", json={"name": "x", "scopes": ["users:delete"]}, headers=admin
    )
    none = await api.client.post("/api/v1/clients", json={"name": "x", "scopes": []}, headers=admin)
    as_user = await api.client.get("/api/v1/clients", headers=user)
    key = await api.api_key(admin)
    with_key = await api.client.get("/api/v1/clients", headers={"X-API-Key": key["key"]})

    assert assert_problem(unknown, 422, "validation_failed")["errors"][0]["pointer"].startswith(
        "#/scopes"
    )
    assert_problem(none, 422, "validation_failed")
    assert_problem(as_user, 403, "forbidden")
    assert_problem(with_key, 403, "forbidden")


async def test_client_credentials_by_basic_and_by_form_give_a_scoped_token(api: Api) -> None:
    _, admin = await api.admin()
    client = await register_client(api, admin, "users:read", "users:write")

    by_basic = await client_token(api, client)
    by_form = await api.client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "scope": "users:read",
        },
    )

    assert by_basic.status_code == 200, by_basic.text
    assert by_basic.headers["cache-control"] == "no-store"
    body = by_basic.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "users:read users:write"
    assert by_form.status_code == 200, by_form.text
    assert by_form.json()["scope"] == "users:read"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    jwks = jwt.PyJWKSet.from_json((await api.client.get("/.well-known/jwks.json")).text)
    claims = jwt.decode(
        body["access_token"], jwks[header["kid"]], algorithms=["RS256"], audience="accounts-api"
    )
    assert claims["sub"] == claims["client_id"] == client["client_id"]
    assert claims["scope"] == "users:read users:write"
    assert {"iss", "aud", "exp", "iat", "jti"} <= set(claims)
    assert not {"role", "sid", "auth_time", "amr"} & set(claims)


async def test_bad_client_authentication_is_invalid_client_and_never_a_500(api: Api) -> None:
    _, admin = await api.admin()
    client = await register_client(api, admin, "users:read")
    grant = {"grant_type": "client_credentials"}

    wrong_secret = await api.client.post(
        TOKEN, data=grant, headers=basic(client["client_id"], "not-the-secret")
    )
    unknown = await api.client.post(
        TOKEN, data=grant, headers=basic("cli_aaaaaaaaaaaaaaaa", client["client_secret"])
    )
    wrong_in_form = await api.client.post(
        TOKEN,
        data={**grant, "client_id": client["client_id"], "client_secret": "nope"},
    )
    not_base64 = await api.client.post(
        TOKEN, data=grant, headers={"Authorization": "Basic %%%not-base64%%%"}
    )
    no_colon = await api.client.post(
        TOKEN,
        data=grant,
        headers={"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    )
    not_utf8 = await api.client.post(
        TOKEN,
        data=grant,
        headers={"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
    )
    nothing = await api.client.post(TOKEN, data=grant)
    both = await api.client.post(
        TOKEN,
        data={**grant, "client_id": client["client_id"], "client_secret": client["client_secret"]},
        headers=basic(client["client_id"], client["client_secret"]),
    )

    for response in (wrong_secret, unknown, not_base64, no_colon, not_utf8, nothing):
        assert_invalid_client(response, basic_challenge=True)
    assert_invalid_client(wrong_in_form, basic_challenge=False)
    assert wrong_secret.json()["detail"] == unknown.json()["detail"]
    assert_oauth_error(both, "invalid_request")


async def test_a_scope_beyond_the_clients_is_invalid_scope(api: Api) -> None:
    _, admin = await api.admin()
    client = await register_client(api, admin, "users:read")

    beyond = await client_token(api, client, scope="users:write")
    unknown = await client_token(api, client, scope="users:read admin")

    assert_oauth_error(beyond, "invalid_scope")
    assert_oauth_error(unknown, "invalid_scope")


async def test_scopes_open_the_user_routes_and_nothing_else(api: Api) -> None:
    _, admin = await api.admin()
    user_id, _ = await api.user("ada@example.com")
    reader = await client_bearer(api, await register_client(api, admin, "users:read"))
    writer_client = await register_client(api, admin, "users:write", name="writer")
    writer = await client_bearer(api, writer_client)

    listed = await api.client.get("/api/v1/users", headers=reader)
    one = await api.client.get(f"/api/v1/users/{user_id}", headers=reader)
    read_only_patch = await api.client.patch(
        f"/api/v1/users/{user_id}", json={"full_name": "Ada"}, headers=reader
    )
    written = await api.client.patch(
        f"/api/v1/users/{user_id}", json={"full_name": "Ada L."}, headers=writer
    )
    written_read = await api.client.get(f"/api/v1/users/{user_id}", headers=writer)
    me = await api.client.get("/api/v1/users/me", headers=reader)
    audit = await api.client.get("/api/v1/audit-events", headers=writer)
    clients = await api.client.get("/api/v1/clients", headers=writer)

    assert listed.status_code == 200, listed.text
    assert user_id in {item["id"] for item in listed.json()["items"]}
    assert one.status_code == 200
    assert_problem(read_only_patch, 403, "forbidden")
    assert read_only_patch.headers["www-authenticate"] == (
        'Bearer realm="accounts", error="insufficient_scope", scope="users:write"'
    )
    assert written.status_code == 200, written.text
    assert written.json()["full_name"] == "Ada L."
    assert written_read.status_code == 200
    for refused in (me, audit, clients):
        assert_problem(refused, 403, "forbidden")
        assert refused.headers["www-authenticate"].startswith(
            'Bearer realm="accounts", error="insufficient_scope"'
        )
    events = await api.client.get(
        "/api/v1/audit-events",
        params={"actor_id": writer_client["client_id"], "type": "user.updated"},
        headers=admin,
    )
    assert events.status_code == 200, events.text
    [event] = events.json()["items"]
    assert event["actor_id"] == writer_client["client_id"]
    assert event["subject_id"] == user_id
    bad_actor = await api.client.get(
        "/api/v1/audit-events", params={"actor_id": "nobody"}, headers=admin
    )
    assert_problem(bad_actor, 422, "validation_failed")


async def test_deleting_a_client_stops_its_tokens_at_once(api: Api) -> None:
    _, admin = await api.admin()
    client = await register_client(api, admin, "users:read")
    headers = await client_bearer(api, client)
    assert (await api.client.get("/api/v1/users", headers=headers)).status_code == 200

    await api.client.delete(f"/api/v1/clients/{client['client_id']}", headers=admin)

    refused = await api.client.get("/api/v1/users", headers=headers)
    assert_problem(refused, 401, "invalid_token")
    assert_invalid_client(await client_token(api, client), basic_challenge=True)


async def test_client_tokens_spend_the_client_policy(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_client="2/minute")
    _, admin = await api.admin()
    headers = await client_bearer(api, await register_client(api, admin, "users:read"))

    first = await api.client.get("/api/v1/users", headers=headers)
    await api.client.get("/api/v1/users", headers=headers)
    third = await api.client.get("/api/v1/users", headers=headers)

    assert first.headers["ratelimit-policy"] == '"client";q=2;w=60'
    assert_problem(third, 429, "rate_limited")


async def test_introspection_reflects_revocation_deactivation_and_deletion_at_once(
    api: Api,
) -> None:
    _, admin = await api.admin()
    caller = await register_client(api, admin, "users:read", name="resource server")
    user_id, _ = await api.user("ada@example.com")
    tokens = await api.tokens("ada@example.com")
    key = await api.api_key(bearer(tokens["access_token"]))

    access = await introspect(api, caller, tokens["access_token"])
    refresh = await introspect(
        api, caller, tokens["refresh_token"], token_type_hint="refresh_token"
    )
    api_key = await introspect(api, caller, key["key"], token_type_hint="api_key")

    assert access["active"] is True
    assert access["sub"] == user_id
    assert access["username"] == "ada@example.com"
    assert access["token_type"] == "access_token"
    issued = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert access["iss"] == issued["iss"]
    assert access["aud"] == issued["aud"] == "accounts-api"
    assert (access["exp"], access["iat"]) == (issued["exp"], issued["iat"])
    assert access["exp"] > access["iat"]
    assert "client_id" not in access
    assert refresh["active"] is True
    assert refresh["token_type"] == "refresh_token"
    assert api_key["active"] is True
    assert api_key["token_type"] == "api_key"
    assert "exp" not in api_key

    deactivated = await api.client.patch(
        f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin
    )
    assert deactivated.status_code == 200, deactivated.text
    for token in (tokens["access_token"], tokens["refresh_token"], key["key"]):
        assert await introspect(api, caller, token) == {"active": False}
    assert await introspect(api, caller, "garbage") == {"active": False}


async def test_introspection_of_a_client_token_and_of_a_deleted_clients_token(
    api: Api,
) -> None:
    _, admin = await api.admin()
    caller = await register_client(api, admin, "users:read", name="resource server")
    other = await register_client(api, admin, "users:read", "users:write", name="other")
    token = (await client_token(api, other, scope="users:write")).json()["access_token"]

    active = await introspect(api, caller, token)
    await api.client.delete(f"/api/v1/clients/{other['client_id']}", headers=admin)
    after = await introspect(api, caller, token)

    assert active["active"] is True
    assert active["sub"] == active["client_id"] == other["client_id"]
    assert active["scope"] == "users:write"
    assert active["token_type"] == "access_token"
    assert "username" not in active
    assert after == {"active": False}


async def test_a_revoked_session_is_inactive_at_introspection(api: Api) -> None:
    _, admin = await api.admin()
    caller = await register_client(api, admin, "users:read")
    await api.user("ada@example.com")
    tokens = await api.tokens("ada@example.com")

    revoked = await api.client.post("/api/v1/auth/revoke", data={"token": tokens["refresh_token"]})
    assert revoked.status_code == 200

    assert await introspect(api, caller, tokens["access_token"]) == {"active": False}
    assert await introspect(api, caller, tokens["refresh_token"]) == {"active": False}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"cli_aaaaaaaaaaaaaaaa:x").decode()},
    ],
)
async def test_introspection_needs_a_registered_client(api: Api, headers: dict[str, str]) -> None:
    await api.user("ada@example.com")
    tokens = await api.tokens("ada@example.com")

    response = await api.client.post(
        INTROSPECT, data={"token": tokens["access_token"]}, headers=headers
    )

    assert_invalid_client(response, basic_challenge=True)
    assert response.headers["ratelimit-policy"].startswith('"anonymous"')


async def test_introspection_by_form_spends_the_callers_client_policy(api: Api) -> None:
    _, admin = await api.admin()
    caller = await register_client(api, admin, "users:read")

    response = await api.client.post(
        INTROSPECT,
        data={
            "token": "unknown",
            "client_id": caller["client_id"],
            "client_secret": caller["client_secret"],
        },
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"active": False}
    assert response.headers["ratelimit-policy"] == '"client";q=1200;w=60'
