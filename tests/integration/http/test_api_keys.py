"""API keys over HTTP, against real Postgres."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.container import resolve
from tests.integration.http.conftest import Api, AppFactory, assert_problem


async def test_create_shows_the_key_once_and_it_authenticates_as_the_owner(api: Api) -> None:
    user_id, headers = await api.user("ada@example.com")
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)

    response = await api.client.post(
        "/api/v1/users/me/api-keys",
        json={"name": "deploy bot", "expires_at": expires.isoformat()},
        headers=headers,
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {
        "id",
        "name",
        "prefix",
        "key",
        "created_at",
        "expires_at",
        "last_used_at",
    }
    assert created["name"] == "deploy bot"
    assert created["key"].startswith(created["prefix"])
    assert len(created["prefix"]) >= 8
    assert created["last_used_at"] is None
    assert datetime.fromisoformat(created["expires_at"]) == expires
    me = await api.client.get("/api/v1/users/me", headers={"X-API-Key": created["key"]})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_id


async def test_listing_never_shows_the_key_and_records_use(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    first = await api.api_key(headers, "first")
    await api.api_key(headers, "second")
    await api.client.get("/api/v1/users/me", headers={"X-API-Key": first["key"]})

    response = await api.client.get("/api/v1/users/me/api-keys", headers=headers)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["name"] for item in items] == ["first", "second"]
    assert all("key" not in item for item in items)
    assert first["key"] not in response.text
    assert items[0]["last_used_at"] is not None
    assert items[1]["last_used_at"] is None


async def test_only_a_digest_of_the_key_is_stored(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    created = await api.api_key(headers)
    engine: AsyncEngine = await resolve(api.app.state.container.engine)

    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM api_keys"))).mappings().all()

    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    assert created["key"] not in stored
    assert created["key"].removeprefix(created["prefix"] + "_") not in stored
    assert rows[0]["prefix"] == created["prefix"]


async def test_a_key_cannot_manage_credentials(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    created = await api.api_key(headers)
    with_key = {"X-API-Key": created["key"]}

    attempts = [
        await api.client.post("/api/v1/users/me/api-keys", json={"name": "x"}, headers=with_key),
        await api.client.get("/api/v1/users/me/api-keys", headers=with_key),
        await api.client.delete(f"/api/v1/users/me/api-keys/{created['id']}", headers=with_key),
    ]

    for response in attempts:
        assert_problem(response, 403, "forbidden")
    still = await api.client.get("/api/v1/users/me", headers=with_key)
    assert still.status_code == 200


async def test_a_key_works_on_admin_routes_with_the_owners_role(api: Api) -> None:
    _, admin = await api.admin()
    key = await api.api_key(admin)
    _, user = await api.user("ada@example.com")
    user_key = await api.api_key(user)

    listed = await api.client.get("/api/v1/users", headers={"X-API-Key": key["key"]})
    refused = await api.client.get("/api/v1/users", headers={"X-API-Key": user_key["key"]})

    assert listed.status_code == 200
    assert_problem(refused, 403, "forbidden")


async def test_deleting_a_key_stops_it_at_once(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    created = await api.api_key(headers)

    response = await api.client.delete(
        f"/api/v1/users/me/api-keys/{created['id']}", headers=headers
    )

    assert response.status_code == 204
    me = await api.client.get("/api/v1/users/me", headers={"X-API-Key": created["key"]})
    assert_problem(me, 401, "invalid_token")
    again = await api.client.delete(f"/api/v1/users/me/api-keys/{created['id']}", headers=headers)
    assert_problem(again, 404, "api_key_not_found")


async def test_another_users_key_is_not_found(api: Api) -> None:
    _, ada = await api.user("ada@example.com")
    _, bob = await api.user("bob@example.com")
    adas = await api.api_key(ada)

    response = await api.client.delete(f"/api/v1/users/me/api-keys/{adas['id']}", headers=bob)

    assert_problem(response, 404, "api_key_not_found")
    listed = (await api.client.get("/api/v1/users/me/api-keys", headers=bob)).json()
    assert listed["items"] == []
    me = await api.client.get("/api/v1/users/me", headers={"X-API-Key": adas["key"]})
    assert me.status_code == 200


async def test_bad_keys_are_invalid_token(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    created = await api.api_key(headers)
    tampered = created["key"][:-4] + ("AAAA" if not created["key"].endswith("AAAA") else "BBBB")

    for key in (tampered, "acc_nothing", "x" * 1000, created["prefix"]):
        response = await api.client.get("/api/v1/users/me", headers={"X-API-Key": key})
        body = assert_problem(response, 401, "invalid_token")
        assert key not in body["detail"]
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_expired_keys_are_invalid_token(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    created = await api.api_key(headers)
    engine: AsyncEngine = await resolve(api.app.state.container.engine)
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE api_keys SET expires_at = now() - interval '1 s'"))

    me = await api.client.get("/api/v1/users/me", headers={"X-API-Key": created["key"]})

    assert_problem(me, 401, "invalid_token")


async def test_an_expiry_in_the_past_or_without_offset_is_refused(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    past = await api.client.post(
        "/api/v1/users/me/api-keys",
        json={"name": "bot", "expires_at": "2020-01-01T00:00:00Z"},
        headers=headers,
    )
    naive = await api.client.post(
        "/api/v1/users/me/api-keys",
        json={"name": "bot", "expires_at": "2099-01-01T00:00:00"},
        headers=headers,
    )
    unnamed = await api.client.post(
        "/api/v1/users/me/api-keys", json={"name": "  "}, headers=headers
    )

    assert [e["pointer"] for e in assert_problem(past, 422, "validation_failed")["errors"]] == [
        "#/expires_at"
    ]
    assert [e["pointer"] for e in assert_problem(naive, 422, "validation_failed")["errors"]] == [
        "#/expires_at"
    ]
    assert [e["pointer"] for e in assert_problem(unnamed, 422, "validation_failed")["errors"]] == [
        "#/name"
    ]


async def test_an_expiry_utc_cannot_hold_or_not_rfc3339_is_refused_not_an_error(api: Api) -> None:
    """An expiry is RFC 3339 text with an offset, in the future, within UTC's years 1 to 9999."""
    _, headers = await api.user("ada@example.com")

    for expires_at in (
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59.999999-00:01",
        "0001-01-01T00:00:00+23:59",
        "0001-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "2099-01-01T00:00:00+24:00",
        "2099-01-01",
        "2099-01-01 00:00:00",
        4102444800,
    ):
        response = await api.client.post(
            "/api/v1/users/me/api-keys",
            json={"name": "bot", "expires_at": expires_at},
            headers=headers,
        )
        body = assert_problem(response, 422, "validation_failed")
        assert [e["pointer"] for e in body["errors"]] == ["#/expires_at"], expires_at

    listed = await api.client.get("/api/v1/users/me/api-keys", headers=headers)
    assert listed.json()["items"] == []


async def test_the_latest_expiry_utc_can_hold_is_accepted(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    response = await api.client.post(
        "/api/v1/users/me/api-keys",
        json={"name": "bot", "expires_at": "9999-12-31T23:59:59+00:00"},
        headers=headers,
    )

    assert response.status_code == 201, response.text
    assert response.json()["expires_at"] == "9999-12-31T23:59:59Z"
    key = response.json()["key"]
    assert (await api.client.get("/api/v1/users/me", headers={"X-API-Key": key})).is_success


async def test_an_expiry_is_answered_in_utc_whatever_offset_it_was_sent_with(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    created = await api.client.post(
        "/api/v1/users/me/api-keys",
        json={"name": "bot", "expires_at": "2099-06-30T08:00:00+05:30"},
        headers=headers,
    )
    listed = await api.client.get("/api/v1/users/me/api-keys", headers=headers)

    assert created.status_code == 201, created.text
    assert created.json()["expires_at"] == "2099-06-30T02:30:00Z"
    assert listed.json()["items"][0]["expires_at"] == "2099-06-30T02:30:00Z"
    for body in (created.json(), listed.json()["items"][0]):
        assert body["created_at"].endswith("Z"), body


async def test_deactivation_stops_the_owners_keys(api: Api) -> None:
    user_id, headers = await api.user("ada@example.com")
    created = await api.api_key(headers)
    _, admin = await api.admin()

    await api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin)

    me = await api.client.get("/api/v1/users/me", headers={"X-API-Key": created["key"]})
    assert_problem(me, 403, "account_disabled")


async def test_sending_a_token_and_a_key_together_is_refused(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    created = await api.api_key(headers)

    response = await api.client.get(
        "/api/v1/users/me", headers={**headers, "X-API-Key": created["key"]}
    )

    assert_problem(response, 401, "invalid_token")


async def test_api_key_routes_need_credentials(api: Api) -> None:
    for method, path in (
        ("POST", "/api/v1/users/me/api-keys"),
        ("GET", "/api/v1/users/me/api-keys"),
        ("DELETE", "/api/v1/users/me/api-keys/019ab2c4-9a1b-7c2d-8e3f-4a5b6c7d8e9f"),
    ):
        response = await api.client.request(method, path, json={"name": "x"})
        assert_problem(response, 401, "not_authenticated")


async def test_one_key_more_than_the_cap_is_refused_until_one_is_deleted(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(api_keys_per_user=2)
    _, headers = await api.user("ada@example.com")
    _, other = await api.user("bob@example.com")
    first = await api.api_key(headers, "first")
    await api.api_key(headers, "second")

    refused = await api.client.post(
        "/api/v1/users/me/api-keys", json={"name": "third"}, headers=headers
    )
    listed = await api.client.get("/api/v1/users/me/api-keys", headers=headers)

    body = assert_problem(refused, 409, "api_key_limit_reached")
    assert "2 API keys" in body["detail"]
    assert [item["name"] for item in listed.json()["items"]] == ["first", "second"]
    await api.api_key(other, "the cap is per user")
    deleted = await api.client.delete(f"/api/v1/users/me/api-keys/{first['id']}", headers=headers)
    assert deleted.status_code == 204
    await api.api_key(headers, "third, once one is gone")
    page = await api.client.get("/errors/api_key_limit_reached")
    assert page.status_code == 200
    assert "API key limit reached" in page.text
    spec = (await api.client.get("/openapi.json")).json()
    conflict = spec["paths"]["/api/v1/users/me/api-keys"]["post"]["responses"]["409"]
    assert "api_key_limit_reached" in conflict["content"]["application/problem+json"]["examples"]


async def until_lock_waiters(engine: AsyncEngine, count: int) -> None:
    """Return once `count` sessions of this database wait for a lock; fail after 10 s."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(1000):
        # A fresh transaction each time: one keeps the statistics it read first.
        async with engine.connect() as connection:
            if (await connection.execute(query)).scalar_one() >= count:
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} sessions came to wait for a lock")


async def test_two_creations_at_once_at_one_below_the_cap_let_exactly_one_in(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    for i in range(49):
        await api.api_key(headers, f"key {i}")
    engine: AsyncEngine = await resolve(api.app.state.container.engine)

    async with engine.connect() as stall:
        # Every insert into api_keys waits until this transaction ends (reads do not), so both
        # creations are in flight together whatever the scheduling: neither commits first.
        await stall.execute(text("LOCK TABLE api_keys IN SHARE MODE"))
        racing = [
            asyncio.create_task(
                api.client.post(
                    "/api/v1/users/me/api-keys", json={"name": f"racer {i}"}, headers=headers
                )
            )
            for i in range(2)
        ]
        await until_lock_waiters(engine, len(racing))
        await stall.rollback()
    responses = await asyncio.gather(*racing)
    listed = await api.client.get(
        "/api/v1/users/me/api-keys", params={"limit": 100}, headers=headers
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert len(listed.json()["items"]) == 50


async def test_keys_are_listed_page_by_page(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    names = [f"key {i}" for i in range(5)]
    for name in names:
        await api.api_key(headers, name)

    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get("/api/v1/users/me/api-keys", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        seen += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == names
    assert pages == 3


async def test_the_default_page_is_fifty_keys(api_factory: AppFactory) -> None:
    api = await api_factory(api_keys_per_user=60)
    _, headers = await api.user("ada@example.com")
    for i in range(51):
        await api.api_key(headers, f"key {i}")

    first = (await api.client.get("/api/v1/users/me/api-keys", headers=headers)).json()
    rest = await api.client.get(
        "/api/v1/users/me/api-keys", params={"cursor": first["next_cursor"]}, headers=headers
    )

    assert len(first["items"]) == 50
    assert first["next_cursor"] is not None
    assert [item["name"] for item in rest.json()["items"]] == ["key 50"]
    assert rest.json()["next_cursor"] is None


async def test_bad_page_sizes_and_cursors_are_validation_problems(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    for params, pointer in (
        ({"limit": 0}, "#/query/limit"),
        ({"limit": 101}, "#/query/limit"),
        ({"cursor": "not-a-cursor"}, "#/query/cursor"),
    ):
        response = await api.client.get("/api/v1/users/me/api-keys", params=params, headers=headers)
        body = assert_problem(response, 422, "validation_failed")
        assert [error["pointer"] for error in body["errors"]] == [pointer], params
