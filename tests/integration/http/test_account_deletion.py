"""Deleting and exporting accounts over HTTP, against Postgres."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dependency_injector import providers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.container import resolve
from tests.fakes import FixedClock
from tests.integration.http.conftest import (
    Api,
    AppFactory,
    assert_oauth_error,
    assert_problem,
)

ME = "/api/v1/users/me"


async def count_rows(api: Api, user_id: str) -> dict[str, int]:
    counts = {}
    engine: AsyncEngine = await resolve(api.app.state.container.engine)
    async with engine.connect() as connection:
        for table, column in (
            ("users", "id"),
            ("sessions", "user_id"),
            ("refresh_tokens", "user_id"),
            ("api_keys", "user_id"),
        ):
            result = await connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE {column} = :id"),  # noqa: S608 - fixed names
                {"id": user_id},
            )
            counts[table] = int(result.scalar_one())
    return counts


async def test_deleting_your_account_removes_it_and_frees_the_email(api: Api) -> None:
    user_id, headers = await api.user("ada@example.com")
    await api.api_key(headers)
    login = await api.tokens("ada@example.com")

    response = await api.client.delete(ME, headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert await count_rows(api, user_id) == {
        "users": 0,
        "sessions": 0,
        "refresh_tokens": 0,
        "api_keys": 0,
    }
    assert_problem(await api.client.get(ME, headers=headers), 401, "invalid_token")
    assert_oauth_error(await api.refresh(login["refresh_token"]), "invalid_grant")
    assert_oauth_error(await api.token("ada@example.com"), "invalid_grant")
    again = await api.register("ADA@example.com")
    assert again.status_code == 201
    assert again.json()["id"] != user_id


async def test_an_old_login_gets_a_step_up_challenge(api_factory: AppFactory) -> None:
    clock = FixedClock(datetime.now(UTC))
    api = await api_factory(
        overrides={"clock": providers.Object(clock)}, reauth_max_age_seconds=120
    )
    _, headers = await api.user("ada@example.com")
    clock.advance(timedelta(seconds=121))

    response = await api.client.delete(ME, headers=headers)

    body = assert_problem(response, 401, "reauthentication_required")
    assert response.headers["www-authenticate"] == (
        'Bearer realm="accounts", error="insufficient_user_authentication", max_age=120'
    )
    assert "sign in again" in body["detail"]
    assert (await api.client.get(ME, headers=headers)).status_code == 200
    clock.set(datetime.now(UTC))
    fresh = await api.login("ada@example.com")
    assert (await api.client.delete(ME, headers=fresh)).status_code == 204


async def test_an_api_key_cannot_delete_or_export_the_account(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    key = {"X-API-Key": (await api.api_key(headers))["key"]}

    assert_problem(await api.client.delete(ME, headers=key), 403, "forbidden")
    assert_problem(await api.client.get(f"{ME}/export", headers=key), 403, "forbidden")
    assert (await api.client.get(ME, headers=headers)).status_code == 200


async def test_the_last_active_admin_cannot_delete_itself(api: Api) -> None:
    _, admin = await api.admin()

    assert_problem(await api.client.delete(ME, headers=admin), 409, "last_admin")
    assert (await api.client.get(ME, headers=admin)).status_code == 200


async def test_an_admin_deletes_a_user_honouring_if_match(api: Api) -> None:
    _, admin = await api.admin()
    user_id, headers = await api.user("ada@example.com")
    url = f"/api/v1/users/{user_id}"

    stale = await api.client.delete(url, headers={**admin, "If-Match": '"v7"'})
    deleted = await api.client.delete(url, headers={**admin, "If-Match": '"v1"'})
    again = await api.client.delete(url, headers=admin)

    assert_problem(stale, 412, "precondition_failed")
    assert deleted.status_code == 204
    assert_problem(again, 404, "user_not_found")
    assert_problem(await api.client.get(ME, headers=headers), 401, "invalid_token")
    assert_problem(
        await api.client.delete("/api/v1/users/nope", headers=admin), 422, "validation_failed"
    )


async def test_users_cannot_delete_others(api: Api) -> None:
    target, _ = await api.user("ada@example.com")
    _, headers = await api.user("bob@example.com")

    response = await api.client.delete(f"/api/v1/users/{target}", headers=headers)

    assert_problem(response, 403, "forbidden")


async def test_two_admins_deleting_each_other_at_once_leave_one(api: Api) -> None:
    ada_id, ada = await api.admin("ada@example.com")
    bob_id, bob = await api.admin("bob@example.com")

    responses = await asyncio.gather(
        api.client.delete(f"/api/v1/users/{bob_id}", headers=ada),
        api.client.delete(f"/api/v1/users/{ada_id}", headers=bob),
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 204, statuses
    assert statuses[1] in {401, 403}, statuses
    survivors = [h for h in (ada, bob) if (await api.client.get(ME, headers=h)).status_code == 200]
    assert len(survivors) == 1
    users = await api.client.get("/api/v1/users?role=admin", headers=survivors[0])
    assert len(users.json()["items"]) == 1


async def test_the_export_holds_everything_about_the_caller_and_no_secret(api: Api) -> None:
    user_id, headers = await api.user("ada@example.com")
    created = await api.api_key(headers, name="deploy bot")
    other = await api.tokens("ada@example.com")
    await api.client.post("/api/v1/auth/revoke", data={"token": other["refresh_token"]})
    await api.user("bob@example.com")

    response = await api.client.get(f"{ME}/export", headers=headers)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "exported_at",
        "user",
        "sessions",
        "api_keys",
        "external_identities",
        "audit_events",
    }
    assert body["user"]["id"] == user_id
    assert body["user"]["email"] == "ada@example.com"
    assert len(body["sessions"]) == 2
    assert sorted(s["ended_at"] is None for s in body["sessions"]) == [False, True]
    assert all(s["amr"] == ["pwd"] for s in body["sessions"])
    assert [k["id"] for k in body["api_keys"]] == [created["id"]]
    assert body["api_keys"][0]["name"] == "deploy bot"
    assert "key" not in body["api_keys"][0]
    assert "digest" not in response.text
    assert created["key"] not in response.text
    assert body["external_identities"] == []
    assert [e["type"] for e in body["audit_events"]] == [
        "user.registered",
        "user.login_succeeded",
        "api_key.created",
        "user.login_succeeded",
        "session.ended",
    ]
    assert {e["subject_id"] for e in body["audit_events"]} == {user_id}
