"""OWASP API1:2023 Broken Object Level Authorization: nobody reaches another user's objects.

The objects a normal user can name by id are API keys (`/users/me/api-keys/{id}`) and users
(`/users/{id}`, admin only). Each test names another user's object and checks both the answer
and that the object is untouched.
"""

from __future__ import annotations

from tests.integration.http.conftest import Api, assert_problem


async def test_another_users_api_key_cannot_be_deleted_or_seen(api: Api) -> None:
    _, ada = await api.user("ada@example.com")
    _, eve = await api.user("eve@example.com")
    ada_key = await api.api_key(ada, name="ada's")

    delete = await api.client.delete(f"/api/v1/users/me/api-keys/{ada_key['id']}", headers=eve)
    eve_listing = await api.client.get("/api/v1/users/me/api-keys", headers=eve)
    still_works = await api.client.get("/api/v1/users/me", headers={"X-API-Key": ada_key["key"]})

    # 404, not 403: the answer must not confirm that the id exists.
    assert_problem(delete, 404, "api_key_not_found")
    assert eve_listing.json() == {"items": [], "next_cursor": None}
    assert still_works.status_code == 200
    assert still_works.json()["email"] == "ada@example.com"


async def test_an_unknown_and_a_foreign_key_id_get_the_same_answer(api: Api) -> None:
    _, ada = await api.user("ada@example.com")
    _, eve = await api.user("eve@example.com")
    ada_key = await api.api_key(ada)

    foreign = await api.client.delete(f"/api/v1/users/me/api-keys/{ada_key['id']}", headers=eve)
    unknown = await api.client.delete(
        "/api/v1/users/me/api-keys/00000000-0000-7000-8000-000000000000", headers=eve
    )

    strip = {"instance", "request_id"}
    assert foreign.status_code == unknown.status_code == 404
    assert {k: v for k, v in foreign.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }


async def test_a_normal_user_cannot_read_or_change_another_user_by_id(api: Api) -> None:
    admin_id, _ = await api.admin()
    ada_id, ada = await api.user("ada@example.com")
    eve_id, eve = await api.user("eve@example.com")

    for target in (ada_id, admin_id, eve_id):
        read = await api.client.get(f"/api/v1/users/{target}", headers=eve)
        change = await api.client.patch(
            f"/api/v1/users/{target}", json={"role": "admin", "full_name": "pwned"}, headers=eve
        )
        assert_problem(read, 403, "forbidden")
        assert_problem(change, 403, "forbidden")

    ada_now = (await api.client.get("/api/v1/users/me", headers=ada)).json()
    eve_now = (await api.client.get("/api/v1/users/me", headers=eve)).json()
    assert ada_now["full_name"] == eve_now["full_name"] == ""
    assert ada_now["role"] == eve_now["role"] == "user"


async def test_an_api_key_of_a_normal_user_reaches_no_other_user(api: Api) -> None:
    ada_id, _ = await api.user("ada@example.com")
    _, eve = await api.user("eve@example.com")
    eve_key = {"X-API-Key": (await api.api_key(eve))["key"]}

    read = await api.client.get(f"/api/v1/users/{ada_id}", headers=eve_key)
    listing = await api.client.get("/api/v1/users", headers=eve_key)

    assert_problem(read, 403, "forbidden")
    assert_problem(listing, 403, "forbidden")
