"""Refresh, revocation and password change over HTTP, against real Postgres."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.container import resolve
from tests.integration.http.conftest import (
    PASSWORD,
    Api,
    AppFactory,
    assert_oauth_error,
    assert_problem,
    bearer,
)

NEW_PASSWORD = "tangerine-umbrella-quietly-1987"


async def test_password_grant_returns_a_refresh_token_and_refresh_rotates_it(api: Api) -> None:
    await api.register("ada@example.com")
    first = await api.tokens("ada@example.com")
    assert first["token_type"] == "Bearer"
    assert len(first["refresh_token"]) >= 43  # 256 bits, base64url

    response = await api.refresh(first["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    me = await api.client.get("/api/v1/users/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"


async def test_a_reused_refresh_token_revokes_the_whole_session(api: Api) -> None:
    await api.register("ada@example.com")
    first = await api.tokens("ada@example.com")
    second = (await api.refresh(first["refresh_token"])).json()

    reused = await api.refresh(first["refresh_token"])

    assert_oauth_error(reused, "invalid_grant")
    # The thief's copy and the victim's current pair die together.
    assert_oauth_error(await api.refresh(second["refresh_token"]), "invalid_grant")
    me = await api.client.get("/api/v1/users/me", headers=bearer(second["access_token"]))
    assert_problem(me, 401, "invalid_token")
    # Other sessions of the same account are untouched.
    other = await api.tokens("ada@example.com")
    assert (await api.refresh(other["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_of_one_token_let_exactly_one_through(api: Api) -> None:
    await api.register("ada@example.com")
    first = await api.tokens("ada@example.com")

    responses = await asyncio.gather(*(api.refresh(first["refresh_token"]) for _ in range(8)))

    statuses = sorted(r.status_code for r in responses)
    # The token row is locked while rotating: the first rotates it, the rest find it spent.
    assert statuses == [200] + [400] * 7
    for response in responses:
        if response.status_code == 400:
            assert_oauth_error(response, "invalid_grant")


async def test_unknown_and_malformed_refresh_tokens_are_invalid_grant(api: Api) -> None:
    for token in ("nope", "x" * 600, "eyJhbGciOiJIUzI1NiJ9.e30.sig"):
        assert_oauth_error(await api.refresh(token), "invalid_grant")
    missing = await api.client.post("/api/v1/auth/token", data={"grant_type": "refresh_token"})
    assert_oauth_error(missing, "invalid_request")


async def test_refresh_after_deactivation_is_invalid_grant(api: Api) -> None:
    user_id, _ = await api.user("ada@example.com")
    _, admin = await api.admin()
    pair = await api.tokens("ada@example.com")

    patched = await api.client.patch(
        f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin
    )
    assert patched.status_code == 200

    assert_oauth_error(await api.refresh(pair["refresh_token"]), "invalid_grant")
    me = await api.client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
    assert_problem(me, 403, "account_disabled")
    # Reactivation does not bring the revoked sessions back.
    await api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": True}, headers=admin)
    assert_oauth_error(await api.refresh(pair["refresh_token"]), "invalid_grant")


async def test_refresh_past_the_token_lifetime_is_invalid_grant(api_factory: AppFactory) -> None:
    api = await api_factory(refresh_token_ttl_seconds=60)
    await api.register("ada@example.com")
    pair = await api.tokens("ada@example.com")
    engine: AsyncEngine = await resolve(api.app.state.container.engine)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE refresh_tokens SET expires_at = expires_at - interval '61 seconds'")
        )

    assert_oauth_error(await api.refresh(pair["refresh_token"]), "invalid_grant")


async def test_revoking_a_refresh_token_logs_the_session_out(api: Api) -> None:
    await api.register("ada@example.com")
    pair = await api.tokens("ada@example.com")

    response = await api.client.post(
        "/api/v1/auth/revoke",
        data={"token": pair["refresh_token"], "token_type_hint": "refresh_token"},
    )

    assert response.status_code == 200
    assert response.content == b""
    assert_oauth_error(await api.refresh(pair["refresh_token"]), "invalid_grant")
    me = await api.client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
    assert_problem(me, 401, "invalid_token")


async def test_revoking_an_access_token_ends_its_session(api: Api) -> None:
    await api.register("ada@example.com")
    pair = await api.tokens("ada@example.com")
    other = await api.tokens("ada@example.com")

    response = await api.client.post("/api/v1/auth/revoke", data={"token": pair["access_token"]})

    assert response.status_code == 200
    me = await api.client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
    assert_problem(me, 401, "invalid_token")
    assert_oauth_error(await api.refresh(pair["refresh_token"]), "invalid_grant")
    still = await api.client.get("/api/v1/users/me", headers=bearer(other["access_token"]))
    assert still.status_code == 200


async def test_revoking_unknown_tokens_is_still_200(api: Api) -> None:
    for data in (
        {"token": "never-issued"},
        {"token": "never-issued", "token_type_hint": "access_token"},
        {"token": "never-issued", "token_type_hint": "something_else"},
        {"token": "a.b.c"},
    ):
        response = await api.client.post("/api/v1/auth/revoke", data=data)
        assert response.status_code == 200, (data, response.text)


async def test_revoke_without_a_token_is_invalid_request(api: Api) -> None:
    response = await api.client.post("/api/v1/auth/revoke", data={"token_type_hint": "x"})
    assert_oauth_error(response, "invalid_request")
    as_json = await api.client.post("/api/v1/auth/revoke", json={"token": "x"})
    assert_oauth_error(as_json, "invalid_request")


async def test_password_change_needs_the_current_password(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    response = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not-the-password-at-all", "new_password": NEW_PASSWORD},
        headers=headers,
    )

    assert_problem(response, 400, "invalid_current_password")
    assert (await api.token("ada@example.com", PASSWORD)).status_code == 200


async def test_password_change_applies_the_policy_to_the_new_password(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    response = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=headers,
    )

    body = assert_problem(response, 422, "validation_failed")
    assert [e["pointer"] for e in body["errors"]] == ["#/new_password"]


async def test_password_change_ends_every_session(api: Api) -> None:
    await api.register("ada@example.com")
    pair = await api.tokens("ada@example.com")
    other = await api.tokens("ada@example.com")

    response = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(pair["access_token"]),
    )

    assert response.status_code == 204, response.text
    assert response.content == b""
    for session in (pair, other):
        assert_oauth_error(await api.refresh(session["refresh_token"]), "invalid_grant")
        me = await api.client.get("/api/v1/users/me", headers=bearer(session["access_token"]))
        assert_problem(me, 401, "invalid_token")
    assert_oauth_error(await api.token("ada@example.com", PASSWORD), "invalid_grant")
    assert (await api.token("ada@example.com", NEW_PASSWORD)).status_code == 200


async def test_password_change_with_an_api_key_is_forbidden(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    key = await api.api_key(headers)

    response = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-API-Key": key["key"]},
    )

    assert_problem(response, 403, "forbidden")
    assert (await api.token("ada@example.com", PASSWORD)).status_code == 200


async def test_password_change_needs_credentials(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert_problem(response, 401, "not_authenticated")
