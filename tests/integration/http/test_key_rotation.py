"""Rotating the signing key by `kid` logs nobody out, and retiring the old key ends its tokens."""

from __future__ import annotations

from tests.integration.http.conftest import AppFactory, assert_problem, bearer

OLD = "old-signing-secret-0123456789-abcdefghijklmnop"
NEW = "new-signing-secret-9876543210-ponmlkjihgfedcba"


async def test_tokens_of_the_previous_key_work_until_it_is_removed(
    api_factory: AppFactory,
) -> None:
    before = await api_factory(jwt_algorithm="HS256", jwt_secret=OLD, jwt_key_id="2026-10")
    await before.register("ada@example.com")
    old = await before.tokens("ada@example.com")

    rotating = await api_factory(
        jwt_algorithm="HS256",
        jwt_secret=NEW,
        jwt_key_id="2026-11",
        jwt_previous_key_id="2026-10",
        jwt_previous_secret=OLD,
    )
    during = await rotating.client.get("/api/v1/users/me", headers=bearer(old["access_token"]))
    # The refresh token is opaque: it outlives any signing key and yields a new-key token.
    refreshed = (await rotating.refresh(old["refresh_token"])).json()
    new_token = refreshed["access_token"]

    after = await api_factory(jwt_algorithm="HS256", jwt_secret=NEW, jwt_key_id="2026-11")
    retired = await after.client.get("/api/v1/users/me", headers=bearer(old["access_token"]))
    current = await after.client.get("/api/v1/users/me", headers=bearer(new_token))

    assert during.status_code == 200
    assert during.json()["email"] == "ada@example.com"
    assert_problem(retired, 401, "invalid_token")
    assert current.status_code == 200


async def test_publishing_the_next_key_first_lets_mixed_instances_accept_each_other(
    api_factory: AppFactory,
) -> None:
    # docs/operations.md, step 3: every instance verifies the next key before any signs with it.
    prepared = await api_factory(
        jwt_algorithm="HS256",
        jwt_secret=OLD,
        jwt_key_id="2026-10",
        jwt_previous_key_id="2026-11",
        jwt_previous_secret=NEW,
    )
    switched = await api_factory(
        jwt_algorithm="HS256",
        jwt_secret=NEW,
        jwt_key_id="2026-11",
        jwt_previous_key_id="2026-10",
        jwt_previous_secret=OLD,
    )
    await prepared.register("ada@example.com")
    from_prepared = await prepared.tokens("ada@example.com")
    from_switched = await switched.tokens("ada@example.com")

    for api in (prepared, switched):
        for pair in (from_prepared, from_switched):
            me = await api.client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
            assert me.status_code == 200, me.text
