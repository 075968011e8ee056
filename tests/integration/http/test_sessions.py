"""Login sessions over HTTP, against Postgres: seeing them, ending them, and racing them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import jwt
from dependency_injector import providers

from tests.fakes import FixedClock
from tests.integration.http.conftest import (
    PASSWORD,
    Api,
    AppFactory,
    assert_oauth_error,
    assert_problem,
    bearer,
)

SESSIONS = "/api/v1/users/me/sessions"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


async def login_from(api: Api, email: str, **headers: str) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def claims_of(access_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return claims


async def test_a_login_is_listed_with_its_client_and_marked_current(api: Api) -> None:
    await api.register("ada@example.com")
    laptop = await login_from(
        api,
        "ada@example.com",
        **{"User-Agent": FIREFOX, "X-Forwarded-For": "2001:db8:1:2:3:4:5:6"},
    )
    phone = await login_from(api, "ada@example.com", **{"User-Agent": "x" * 1000})

    response = await api.client.get(SESSIONS, headers=bearer(laptop["access_token"]))

    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 2
    by_current = {item["current"]: item for item in items}
    mine, other = by_current[True], by_current[False]
    assert mine["id"] == claims_of(laptop["access_token"])["sid"]
    # The address the rate limiter resolves behind the trusted proxy, whole (not its /64).
    assert (mine["ip"], mine["user_agent"], mine["amr"]) == (
        "2001:db8:1:2:3:4:5:6",
        FIREFOX,
        ["pwd"],
    )
    assert mine["created_at"] == mine["last_used_at"]
    assert other["id"] == claims_of(phone["access_token"])["sid"]
    assert (other["ip"], other["user_agent"]) == ("127.0.0.1", "x" * 256)
    assert set(mine) == {"id", "created_at", "last_used_at", "ip", "user_agent", "amr", "current"}


async def test_access_tokens_carry_sid_auth_time_and_amr_kept_by_refreshes(
    api_factory: AppFactory,
) -> None:
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    api = await api_factory(overrides={"clock": providers.Object(clock)})
    await api.register("ada@example.com")
    login = await api.tokens("ada@example.com")
    first = claims_of(login["access_token"])
    clock.advance(timedelta(minutes=3))

    refreshed = (await api.refresh(login["refresh_token"])).json()
    second = claims_of(refreshed["access_token"])
    # The first token still works; the second is issued "in the future" of the real clock.
    listing = await api.client.get(SESSIONS, headers=bearer(login["access_token"]))

    assert first["amr"] == second["amr"] == ["pwd"]
    assert first["sid"] == second["sid"]
    assert first["auth_time"] == second["auth_time"] == int(clock.now().timestamp()) - 180
    assert second["iat"] == int(clock.now().timestamp())
    (session,) = listing.json()["items"]
    assert datetime.fromisoformat(session["last_used_at"]) == clock.now()
    assert datetime.fromisoformat(session["created_at"]) == clock.now() - timedelta(minutes=3)


async def test_ending_one_session_logs_that_device_out_only(api: Api) -> None:
    await api.register("ada@example.com")
    laptop = await api.tokens("ada@example.com")
    phone = await api.tokens("ada@example.com")
    phone_sid = claims_of(phone["access_token"])["sid"]

    ended = await api.client.delete(
        f"{SESSIONS}/{phone_sid}", headers=bearer(laptop["access_token"])
    )

    assert ended.status_code == 204
    assert ended.content == b""
    assert_problem(
        await api.client.get("/api/v1/users/me", headers=bearer(phone["access_token"])),
        401,
        "invalid_token",
    )
    assert_oauth_error(await api.refresh(phone["refresh_token"]), "invalid_grant")
    listing = await api.client.get(SESSIONS, headers=bearer(laptop["access_token"]))
    assert [item["id"] for item in listing.json()["items"]] == [
        claims_of(laptop["access_token"])["sid"]
    ]
    assert (await api.refresh(laptop["refresh_token"])).status_code == 200


async def test_foreign_unknown_and_malformed_session_ids(api: Api) -> None:
    await api.register("ada@example.com")
    await api.register("bob@example.com")
    ada = await api.tokens("ada@example.com")
    bob = await api.tokens("bob@example.com")
    bob_sid = claims_of(bob["access_token"])["sid"]

    foreign = await api.client.delete(f"{SESSIONS}/{bob_sid}", headers=bearer(ada["access_token"]))
    unknown = await api.client.delete(f"{SESSIONS}/{uuid4()}", headers=bearer(ada["access_token"]))
    malformed = await api.client.delete(
        f"{SESSIONS}/not-a-uuid", headers=bearer(ada["access_token"])
    )

    assert_problem(foreign, 404, "session_not_found")
    assert_problem(unknown, 404, "session_not_found")
    body = assert_problem(malformed, 422, "validation_failed")
    assert body["errors"][0]["pointer"] == "#/path/session_id"
    assert (await api.refresh(bob["refresh_token"])).status_code == 200


async def test_ending_every_session_includes_the_callers(api: Api) -> None:
    await api.register("ada@example.com")
    logins = [await api.tokens("ada@example.com") for _ in range(3)]

    response = await api.client.delete(SESSIONS, headers=bearer(logins[0]["access_token"]))

    assert response.status_code == 204
    for login in logins:
        me = await api.client.get("/api/v1/users/me", headers=bearer(login["access_token"]))
        assert_problem(me, 401, "invalid_token")
        assert_oauth_error(await api.refresh(login["refresh_token"]), "invalid_grant")
    fresh = await api.tokens("ada@example.com")
    listing = await api.client.get(SESSIONS, headers=bearer(fresh["access_token"]))
    assert len(listing.json()["items"]) == 1


async def test_api_keys_cannot_see_or_end_sessions(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    key = {"X-API-Key": (await api.api_key(headers))["key"]}

    for response in (
        await api.client.get(SESSIONS, headers=key),
        await api.client.delete(SESSIONS, headers=key),
        await api.client.delete(f"{SESSIONS}/{uuid4()}", headers=key),
    ):
        assert_problem(response, 403, "forbidden")


async def test_an_admin_lists_and_ends_a_users_sessions(api: Api) -> None:
    _, admin = await api.admin()
    user_id, user_headers = await api.user("ada@example.com")
    user_login = await api.tokens("ada@example.com")

    listing = await api.client.get(f"/api/v1/users/{user_id}/sessions", headers=admin)
    ended = await api.client.delete(f"/api/v1/users/{user_id}/sessions", headers=admin)

    assert listing.status_code == 200
    assert len(listing.json()["items"]) == 2
    assert not any(item["current"] for item in listing.json()["items"])
    assert ended.status_code == 204
    assert_problem(
        await api.client.get("/api/v1/users/me", headers=user_headers), 401, "invalid_token"
    )
    assert_oauth_error(await api.refresh(user_login["refresh_token"]), "invalid_grant")
    after = await api.client.get(f"/api/v1/users/{user_id}/sessions", headers=admin)
    assert after.json() == {"items": []}
    # The admin's own session is untouched.
    assert (await api.client.get("/api/v1/users/me", headers=admin)).status_code == 200


async def test_admin_session_routes_refuse_users_and_unknown_accounts(api: Api) -> None:
    _, admin = await api.admin()
    target, headers = await api.user("ada@example.com")
    nobody = uuid4()

    for response in (
        await api.client.get(f"/api/v1/users/{target}/sessions", headers=headers),
        await api.client.delete(f"/api/v1/users/{target}/sessions", headers=headers),
    ):
        assert_problem(response, 403, "forbidden")
    for response in (
        await api.client.get(f"/api/v1/users/{nobody}/sessions", headers=admin),
        await api.client.delete(f"/api/v1/users/{nobody}/sessions", headers=admin),
    ):
        assert_problem(response, 404, "user_not_found")
    assert_problem(
        await api.client.get("/api/v1/users/not-a-uuid/sessions", headers=admin),
        422,
        "validation_failed",
    )


async def test_a_refresh_racing_with_ending_every_session_loses(api: Api) -> None:
    await api.register("ada@example.com")
    for _ in range(5):
        caller = await api.tokens("ada@example.com")
        other = await api.tokens("ada@example.com")

        refreshed, ended = await asyncio.gather(
            api.refresh(other["refresh_token"]),
            api.client.delete(SESSIONS, headers=bearer(caller["access_token"])),
        )

        assert ended.status_code == 204
        if refreshed.status_code == 200:
            # It rotated first; the session it rotated in was ended right after.
            new = refreshed.json()
            assert_oauth_error(await api.refresh(new["refresh_token"]), "invalid_grant")
            me = await api.client.get("/api/v1/users/me", headers=bearer(new["access_token"]))
            assert_problem(me, 401, "invalid_token")
        else:
            assert_oauth_error(refreshed, "invalid_grant")
