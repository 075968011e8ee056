"""OWASP API3:2023 Broken Object Property Level Authorization.

Mass assignment: a client cannot set `role`, `is_active`, `id` or any other property it does
not own, on registration or on its own profile (extra fields are a 422, never silently
ignored). Excessive exposure: no response of any flow carries a password, a hash, a key digest
or, outside the token endpoint, a refresh token.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.http.conftest import PASSWORD, Api, assert_problem

FORBIDDEN_ON_REGISTER = {
    "role": "admin",
    "is_active": False,
    "id": "00000000-0000-7000-8000-000000000000",
    "created_at": "2020-01-01T00:00:00Z",
    "password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
    "external_subject": "idp|1",
}
FORBIDDEN_ON_PROFILE = {**FORBIDDEN_ON_REGISTER, "email": "new@example.com"}

# Member names that would mean a secret left the service.
SECRET_MEMBERS = {
    "password",
    "password_hash",
    "hashed_password",
    "hash",
    "digest",
    "key_digest",
    "token_digest",
    "secret",
    "refresh_token",
}


@pytest.mark.parametrize(("field", "value"), FORBIDDEN_ON_REGISTER.items())
async def test_register_refuses_properties_the_client_does_not_own(
    api: Api, field: str, value: Any
) -> None:
    response = await api.register("ada@example.com", **{field: value})

    body = assert_problem(response, 422, "validation_failed")
    assert {"pointer": f"#/{field}", "code": "extra_forbidden"}.items() <= body["errors"][0].items()
    login = await api.token("ada@example.com")
    assert login.status_code == 400, "the refused registration must not have created anything"


@pytest.mark.parametrize(("field", "value"), FORBIDDEN_ON_PROFILE.items())
async def test_own_profile_refuses_properties_the_user_does_not_own(
    api: Api, field: str, value: Any
) -> None:
    _, headers = await api.user("ada@example.com")
    before = (await api.client.get("/api/v1/users/me", headers=headers)).json()

    alone = await api.client.patch("/api/v1/users/me", json={field: value}, headers=headers)
    smuggled = await api.client.patch(
        "/api/v1/users/me", json={"full_name": "Ada", field: value}, headers=headers
    )

    assert_problem(alone, 422, "validation_failed")
    assert_problem(smuggled, 422, "validation_failed")
    after = (await api.client.get("/api/v1/users/me", headers=headers)).json()
    assert after == before


def _secret_members(value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower() in SECRET_MEMBERS:
                found.append(f"{path}/{key}")
            found += _secret_members(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _secret_members(item, f"{path}/{index}")
    return found


async def test_no_response_of_any_flow_carries_a_secret_member(api: Api) -> None:
    responses = []
    responses.append(await api.register("ada@example.com", full_name="Ada"))
    pair = await api.tokens("ada@example.com")
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    admin_id, admin = await api.admin()
    created_key = await api.client.post(
        "/api/v1/users/me/api-keys", json={"name": "bot"}, headers=headers
    )
    user_id = responses[0].json()["id"]
    responses += [
        await api.client.get("/api/v1/users/me", headers=headers),
        await api.client.patch("/api/v1/users/me", json={"full_name": "A"}, headers=headers),
        await api.client.get("/api/v1/users/me/api-keys", headers=headers),
        await api.client.get("/api/v1/users", headers=admin),
        await api.client.get(f"/api/v1/users/{user_id}", headers=admin),
        await api.client.get(f"/api/v1/users/{admin_id}", headers=admin),
        await api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": True}, headers=admin),
        await api.register("ada@example.com"),
        await api.token("ada@example.com", "a-wrong-password-of-20"),
        await api.register("bob@example.com", password="short"),
        await api.client.post(
            "/api/v1/users/me/password",
            json={"current_password": "wrong-wrong-wrong-1", "new_password": PASSWORD + "x"},
            headers=headers,
        ),
    ]

    for response in responses:
        assert response.status_code < 500, response.text
        assert not _secret_members(response.json()), response.text
        assert PASSWORD not in response.text
    # The one place a key appears is the answer that creates it; its digest never does.
    assert created_key.status_code == 201
    assert set(created_key.json()) == {
        "id",
        "name",
        "prefix",
        "key",
        "created_at",
        "expires_at",
        "last_used_at",
    }
