"""Changing the email through the API: the change waits for the new address's confirmation."""

from __future__ import annotations

from tests.integration.http.conftest import PASSWORD, Api, assert_problem
from tests.integration.http.queued_mail import last_token, queued_mail


async def test_the_new_address_confirms_and_becomes_the_verified_email(api: Api) -> None:
    user_id, headers = await api.user("old@example.com")

    asked = await api.client.post(
        "/api/v1/users/me/email",
        json={"new_email": "New@Example.com", "current_password": PASSWORD},
        headers=headers,
    )

    assert asked.status_code == 202, asked.text
    assert asked.content == b""
    (confirm,) = await queued_mail(api, "new@example.com")
    assert confirm["kind"] == "confirm_email_change"
    assert confirm["to"] == "New@example.com"
    assert confirm["values"]["link"].startswith("http://testserver/verify-email?token=")
    notice = (await queued_mail(api, "old@example.com"))[-1]
    assert notice["kind"] == "email_change_notice"
    assert notice["values"]["new_email"] == "New@example.com"
    me = await api.client.get("/api/v1/users/me", headers=headers)
    assert me.json()["email"] == "old@example.com"

    token = await last_token(api, "new@example.com", "confirm_email_change")
    confirmed = await api.client.post("/api/v1/auth/verify-email", json={"token": token})

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["id"] == user_id
    assert confirmed.json()["email"] == "New@example.com"
    assert confirmed.json()["email_verified"] is True
    assert (await api.token("old@example.com")).status_code == 400
    assert (await api.token("new@example.com")).status_code == 200
    assert_problem(
        await api.client.post("/api/v1/auth/verify-email", json={"token": token}),
        400,
        "invalid_link",
    )


async def test_a_wrong_password_a_taken_address_and_an_api_key_are_refused(api: Api) -> None:
    _, headers = await api.user("owner@example.com")
    await api.register("someone@example.com")
    key = await api.api_key(headers)

    wrong = await api.client.post(
        "/api/v1/users/me/email",
        json={"new_email": "fresh@example.com", "current_password": "not-the-password-at-all"},
        headers=headers,
    )
    assert_problem(wrong, 400, "invalid_current_password")
    taken = await api.client.post(
        "/api/v1/users/me/email",
        json={"new_email": "SOMEONE@example.com", "current_password": PASSWORD},
        headers=headers,
    )
    assert_problem(taken, 409, "email_taken")
    by_key = await api.client.post(
        "/api/v1/users/me/email",
        json={"new_email": "fresh@example.com", "current_password": PASSWORD},
        headers={"X-API-Key": key["key"]},
    )
    assert_problem(by_key, 403, "forbidden")
    assert await queued_mail(api, "fresh@example.com") == []
