"""`POST /users`: an admin creates an account; its owner sets a password by mail."""

from __future__ import annotations

from tests.integration.http.conftest import Api, assert_problem
from tests.integration.http.queued_mail import last_token, queued_mail

NEW_PASSWORD = "tangerine-umbrella-quietly-1987"


async def test_an_admin_creates_a_user_who_sets_a_password_by_mail(api: Api) -> None:
    admin_id, admin = await api.admin("chief@example.com")

    created = await api.client.post(
        "/api/v1/users",
        json={"email": "grace@example.com", "full_name": "Grace Hopper", "role": "admin"},
        headers=admin,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/users/{body['id']}"
    assert (body["role"], body["email_verified"], body["is_active"]) == ("admin", False, True)
    (message,) = await queued_mail(api, "grace@example.com")
    assert message["kind"] == "set_password"
    assert message["values"]["full_name"] == "Grace Hopper"
    assert message["values"]["expires_in"] == "24 hours"
    assert message["values"]["link"].startswith("http://testserver/reset-password?token=")
    assert (await api.token("grace@example.com", NEW_PASSWORD)).status_code == 400
    events = await api.client.get(
        "/api/v1/audit-events", params={"type": "user.created"}, headers=admin
    )
    (event,) = [e for e in events.json()["items"] if e["subject_id"] == body["id"]]
    assert event["actor_id"] == admin_id

    token = await last_token(api, "grace@example.com", "set_password")
    confirmed = await api.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert confirmed.status_code == 204, confirmed.text
    headers = await api.login("grace@example.com", NEW_PASSWORD)
    me = (await api.client.get("/api/v1/users/me", headers=headers)).json()
    assert me["email_verified"] is True


async def test_a_taken_address_is_409_and_users_may_not_create(api: Api) -> None:
    _, admin = await api.admin("chief2@example.com")
    _, user = await api.user("plain@example.com")

    taken = await api.client.post(
        "/api/v1/users", json={"email": "PLAIN@example.com"}, headers=admin
    )
    assert_problem(taken, 409, "email_taken")
    refused = await api.client.post(
        "/api/v1/users", json={"email": "other@example.com"}, headers=user
    )
    assert_problem(refused, 403, "forbidden")
    extra = await api.client.post(
        "/api/v1/users", json={"email": "x@example.com", "password": "nope"}, headers=admin
    )
    assert_problem(extra, 422, "validation_failed")
    assert await queued_mail(api, "other@example.com") == []
