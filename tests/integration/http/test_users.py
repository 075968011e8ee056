"""The caller's own account and admin user management over HTTP."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx

from tests.integration.http.conftest import Api, assert_problem


async def test_me_returns_the_callers_account_with_an_etag(api: Api) -> None:
    user_id, headers = await api.user("ada@example.com")

    response = await api.client.get("/api/v1/users/me", headers=headers)

    assert response.status_code == 200
    assert response.json()["id"] == user_id
    assert response.headers["etag"] == '"v1"'


async def test_rename_yourself(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    response = await api.client.patch(
        "/api/v1/users/me", json={"full_name": "Ada King"}, headers=headers
    )
    again = await api.client.get("/api/v1/users/me", headers=headers)

    assert response.status_code == 200
    assert again.json()["full_name"] == "Ada King"
    assert again.headers["etag"] == '"v2"'


async def test_you_cannot_promote_yourself(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    response = await api.client.patch(
        "/api/v1/users/me", json={"full_name": "x", "role": "admin"}, headers=headers
    )

    assert_problem(response, 422, "validation_failed")


async def test_admin_routes_refuse_normal_users_with_insufficient_scope(api: Api) -> None:
    target, headers = await api.user("ada@example.com")
    calls = [
        api.client.get("/api/v1/users", headers=headers),
        api.client.get(f"/api/v1/users/{target}", headers=headers),
        api.client.patch(f"/api/v1/users/{target}", json={"role": "admin"}, headers=headers),
    ]
    for response in await asyncio.gather(*calls):
        assert_problem(response, 403, "forbidden")
        assert response.headers["www-authenticate"].endswith('error="insufficient_scope"')


async def test_admin_routes_need_credentials(api: Api) -> None:
    target = uuid4()
    for response in (
        await api.client.get("/api/v1/users"),
        await api.client.get(f"/api/v1/users/{target}"),
        await api.client.patch(f"/api/v1/users/{target}", json={"role": "admin"}),
    ):
        assert_problem(response, 401, "not_authenticated")


async def test_admin_lists_users_page_by_page(api: Api) -> None:
    _, admin = await api.admin()
    created = [(await api.register(f"user{i}@example.com")).json()["id"] for i in range(7)]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/api/v1/users", params=params, headers=admin)).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 8
    assert seen[1:] == created  # creation order; the admin came first


async def test_admin_filters_users(api: Api) -> None:
    admin_id, admin = await api.admin()
    ada, _ = await api.user("Ada@example.com")
    await api.user("bob@example.com")
    await api.client.patch(f"/api/v1/users/{ada}", json={"is_active": False}, headers=admin)

    async def ids(**params: object) -> list[str]:
        response = await api.client.get("/api/v1/users", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [u["id"] for u in response.json()["items"]]

    assert await ids(role="admin") == [admin_id]
    assert await ids(is_active="false") == [ada]
    assert await ids(email="ADA@EXAMPLE.COM") == [ada]


async def test_list_validates_its_query(api: Api) -> None:
    _, admin = await api.admin()

    for params, pointer in (
        ({"limit": 0}, "#/query/limit"),
        ({"limit": 101}, "#/query/limit"),
        ({"role": "owner"}, "#/query/role"),
        ({"cursor": "garbage!"}, "#/query/cursor"),
        ({"email": "nope"}, "#/query/email"),
    ):
        response = await api.client.get("/api/v1/users", params=params, headers=admin)
        body = assert_problem(response, 422, "validation_failed")
        assert [e["pointer"] for e in body["errors"]] == [pointer], params


async def test_list_refuses_a_parameter_sent_twice_rather_than_guess(api: Api) -> None:
    _, admin = await api.admin()

    for query, pointers in (
        ("role=user&role=admin", ["#/query/role"]),
        ("limit=1&limit=100", ["#/query/limit"]),
        (
            "is_active=true&limit=5&is_active=true&limit=5&email=a@b.co",
            ["#/query/is_active", "#/query/limit"],
        ),
    ):
        response = await api.client.get(f"/api/v1/users?{query}", headers=admin)
        body = assert_problem(response, 422, "validation_failed")
        assert [e["pointer"] for e in body["errors"]] == pointers, query
        assert {e["code"] for e in body["errors"]} == {"duplicate_parameter"}
        assert response.headers["ratelimit"].startswith('"user";')


async def test_parameters_sent_once_or_not_declared_are_served(api: Api) -> None:
    _, admin = await api.admin()

    response = await api.client.get("/api/v1/users?role=admin&limit=5&x=1&x=2", headers=admin)
    anonymous = await api.client.get("/api/v1/users?role=user&role=admin")

    assert response.status_code == 200
    assert len(response.json()["items"]) == 1
    assert_problem(anonymous, 401, "not_authenticated")


async def test_admin_gets_a_user_and_404s_for_unknown_ids(api: Api) -> None:
    _, admin = await api.admin()
    user_id, _ = await api.user("ada@example.com")

    found = await api.client.get(f"/api/v1/users/{user_id}", headers=admin)
    missing = await api.client.get(f"/api/v1/users/{uuid4()}", headers=admin)
    malformed = await api.client.get("/api/v1/users/not-a-uuid", headers=admin)

    assert found.json()["email"] == "ada@example.com"
    assert found.headers["etag"] == '"v1"'
    assert_problem(missing, 404, "user_not_found")
    body = assert_problem(malformed, 422, "validation_failed")
    assert body["errors"][0]["pointer"] == "#/path/user_id"


async def test_role_change_takes_effect_at_the_next_request(api: Api) -> None:
    _, admin = await api.admin()
    user_id, headers = await api.user("ada@example.com")

    promoted = await api.client.patch(
        f"/api/v1/users/{user_id}", json={"role": "admin"}, headers=admin
    )
    listing = await api.client.get("/api/v1/users", headers=headers)

    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    assert listing.status_code == 200  # the old token still says "user"; the database decides


async def test_deactivation_locks_out_existing_tokens(api: Api) -> None:
    _, admin = await api.admin()
    user_id, headers = await api.user("ada@example.com")

    await api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin)
    response = await api.client.get("/api/v1/users/me", headers=headers)

    assert_problem(response, 403, "account_disabled")


async def test_if_match_guards_against_lost_updates(api: Api) -> None:
    _, admin = await api.admin()
    user_id, _ = await api.user("ada@example.com")
    etag = (await api.client.get(f"/api/v1/users/{user_id}", headers=admin)).headers["etag"]

    first = await api.client.patch(
        f"/api/v1/users/{user_id}",
        json={"full_name": "One"},
        headers={**admin, "If-Match": etag},
    )
    stale = await api.client.patch(
        f"/api/v1/users/{user_id}",
        json={"full_name": "Two"},
        headers={**admin, "If-Match": etag},
    )

    assert first.status_code == 200
    assert first.headers["etag"] == '"v2"'
    assert_problem(stale, 412, "precondition_failed")
    current = await api.client.get(f"/api/v1/users/{user_id}", headers=admin)
    assert current.json()["full_name"] == "One"


async def test_every_if_match_line_counts_and_any_listed_tag_may_match(api: Api) -> None:
    _, admin = await api.admin()
    user_id, _ = await api.user("ada@example.com")
    url = f"/api/v1/users/{user_id}"

    async def patch(*if_match: str) -> httpx.Response:
        headers = [*admin.items(), *(("If-Match", value) for value in if_match)]
        return await api.client.patch(url, json={"full_name": uuid4().hex}, headers=headers)

    stale_line_then_current = await patch('"v0"', '"v1"')
    one_line_listing_both = await patch('"v9", "v2"')
    none_current = await patch('"v1"', '"v2", W/"v3"')
    star = await patch("*")

    assert stale_line_then_current.status_code == 200, stale_line_then_current.text
    assert stale_line_then_current.headers["etag"] == '"v2"'
    assert one_line_listing_both.headers["etag"] == '"v3"'
    assert_problem(none_current, 412, "precondition_failed")
    assert star.headers["etag"] == '"v4"'


async def test_concurrent_patches_with_one_etag_let_exactly_one_win(api: Api) -> None:
    _, admin = await api.admin()
    user_id, _ = await api.user("ada@example.com")
    etag = (await api.client.get(f"/api/v1/users/{user_id}", headers=admin)).headers["etag"]

    responses = await asyncio.gather(
        *(
            api.client.patch(
                f"/api/v1/users/{user_id}",
                json={"full_name": f"Writer {i}"},
                headers={**admin, "If-Match": etag},
            )
            for i in range(6)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 5
    winner = next(r for r in responses if r.status_code == 200).json()["full_name"]
    current = await api.client.get(f"/api/v1/users/{user_id}", headers=admin)
    assert current.json()["full_name"] == winner
    assert current.headers["etag"] == '"v2"'


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(api: Api) -> None:
    admin_id, admin = await api.admin()

    for change in ({"role": "user"}, {"is_active": False}):
        response = await api.client.patch(f"/api/v1/users/{admin_id}", json=change, headers=admin)
        assert_problem(response, 409, "last_admin")
    me = await api.client.get("/api/v1/users/me", headers=admin)
    assert me.json()["role"] == "admin"


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(api: Api) -> None:
    for round_ in range(5):
        a_id, a = await api.admin(f"a{round_}@example.com")
        b_id, b = await api.admin(f"b{round_}@example.com")
        # Only these two are admins now: demote any admin left from the previous round.
        listing = await api.client.get("/api/v1/users", params={"role": "admin"}, headers=a)
        for other in listing.json()["items"]:
            if other["id"] not in {a_id, b_id}:
                await api.client.patch(
                    f"/api/v1/users/{other['id']}", json={"role": "user"}, headers=a
                )

        first, second = await asyncio.gather(
            api.client.patch(f"/api/v1/users/{b_id}", json={"role": "user"}, headers=a),
            api.client.patch(f"/api/v1/users/{a_id}", json={"role": "user"}, headers=b),
        )

        # The loser sees either the rule (409) or, when the winner committed before its own
        # request was authorized, that it is no longer an admin (403). Never both demoted.
        winner, loser = (first, second) if first.status_code == 200 else (second, first)
        assert winner.status_code == 200
        assert loser.status_code in {403, 409}
        assert_problem(
            loser, loser.status_code, {403: "forbidden", 409: "last_admin"}[loser.status_code]
        )
        admins = await api.client.get(
            "/api/v1/users", params={"role": "admin"}, headers=a if winner is first else b
        )
        assert [u["id"] for u in admins.json()["items"]] == [a_id if winner is first else b_id]


async def test_patch_refuses_nulls_and_unknown_fields(api: Api) -> None:
    _, admin = await api.admin()
    user_id, _ = await api.user("ada@example.com")

    null = await api.client.patch(f"/api/v1/users/{user_id}", json={"role": None}, headers=admin)
    extra = await api.client.patch(
        f"/api/v1/users/{user_id}", json={"password_hash": "$x"}, headers=admin
    )

    assert assert_problem(null, 422, "validation_failed")["errors"][0]["pointer"] == "#/role"
    assert assert_problem(extra, 422, "validation_failed")["errors"][0]["code"] == (
        "extra_forbidden"
    )
