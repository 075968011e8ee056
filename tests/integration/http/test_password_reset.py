"""Password reset through the API and the HTML page, against real Postgres."""

from __future__ import annotations

import asyncio
import re
from html import unescape

from tests.integration.http.conftest import PASSWORD, Api, assert_problem
from tests.integration.http.queued_mail import last_token, queued_mail

NEW_PASSWORD = "tangerine-umbrella-quietly-1987"


async def ask_reset(api: Api, email: str) -> str:
    response = await api.client.post("/api/v1/auth/password-reset", json={"email": email})
    assert response.status_code == 202, response.text
    assert response.content == b""
    return await last_token(api, email, "password_reset")


async def test_a_reset_sets_the_password_and_ends_every_way_in(api: Api) -> None:
    user_id, headers = await api.user("rose@example.com")
    refresh = (await api.tokens("rose@example.com"))["refresh_token"]
    key = await api.api_key(headers)
    token = await ask_reset(api, "ROSE@example.com")
    (message,) = [
        m for m in await queued_mail(api, "rose@example.com") if m["kind"] == "password_reset"
    ]
    assert message["to"] == "rose@example.com"
    assert message["values"]["expires_in"] == "30 minutes"
    assert message["values"]["link"].startswith("http://testserver/reset-password?token=")

    confirmed = await api.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert confirmed.status_code == 204, confirmed.text
    assert (await api.token("rose@example.com", PASSWORD)).status_code == 400
    assert (await api.refresh(refresh)).status_code == 400
    assert_problem(await api.client.get("/api/v1/users/me", headers=headers), 401, "invalid_token")
    assert_problem(
        await api.client.get("/api/v1/users/me", headers={"X-API-Key": key["key"]}),
        401,
        "invalid_token",
    )
    fresh = await api.login("rose@example.com", NEW_PASSWORD)
    me = (await api.client.get("/api/v1/users/me", headers=fresh)).json()
    assert me["id"] == user_id
    assert me["email_verified"] is True
    notice = (await queued_mail(api, "rose@example.com"))[-1]
    assert notice["kind"] == "password_changed_notice"
    assert "link" not in notice["values"]

    again = await api.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": NEW_PASSWORD + "-2"},
    )
    assert_problem(again, 400, "invalid_link")


async def test_unknown_and_inactive_addresses_answer_alike_and_get_no_mail(api: Api) -> None:
    admin_id, admin = await api.admin("boss@example.com")
    user_id, _ = await api.user("gone@example.com")
    off = await api.client.patch(
        f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin
    )
    assert off.status_code == 200, off.text
    before = len(await queued_mail(api, "gone@example.com"))

    for email in ("nobody@example.com", "gone@example.com"):
        response = await api.client.post("/api/v1/auth/password-reset", json={"email": email})
        assert response.status_code == 202
        assert response.content == b""

    assert await queued_mail(api, "nobody@example.com") == []
    assert len(await queued_mail(api, "gone@example.com")) == before
    assert admin_id


async def test_bad_tokens_are_one_invalid_link_and_weak_passwords_a_422(api: Api) -> None:
    await api.register("tess@example.com")
    token = await ask_reset(api, "tess@example.com")

    weak = await api.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "short"}
    )
    body = assert_problem(weak, 422, "validation_failed")
    assert body["errors"][0]["pointer"] == "#/new_password"

    details = set()
    for bad in (token[:-1], token + "A", "A" * 43):
        response = await api.client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": bad, "new_password": NEW_PASSWORD}
        )
        details.add(assert_problem(response, 400, "invalid_link")["detail"])
    assert len(details) == 1

    newer = await ask_reset(api, "tess@example.com")
    stale = await api.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_problem(stale, 400, "invalid_link")
    ok = await api.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": newer, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 204


async def test_the_reset_page_sets_the_password_only_when_posted(api: Api) -> None:
    await api.register("paul@example.com")
    token = await ask_reset(api, "paul@example.com")

    shown = await api.client.get("/reset-password", params={"token": token})

    assert shown.status_code == 200
    assert "script" not in shown.text.lower()
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    hidden = re.search(r'name="token" value="([^"]*)"', shown.text)
    assert hidden is not None
    assert unescape(hidden[1]) == token
    assert (await api.token("paul@example.com")).status_code == 200

    weak = await api.client.post("/reset-password", data={"token": token, "new_password": "x"})
    assert weak.status_code == 422
    assert 'name="new_password"' in weak.text

    done = await api.client.post(
        "/reset-password", data={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert "Your password is set" in done.text
    assert (await api.token("paul@example.com", NEW_PASSWORD)).status_code == 200
    spent = await api.client.post(
        "/reset-password", data={"token": token, "new_password": NEW_PASSWORD}
    )
    assert spent.status_code == 400


async def test_a_password_change_voids_an_outstanding_reset_link(api: Api) -> None:
    _, headers = await api.user("cleo@example.com")
    token = await ask_reset(api, "cleo@example.com")
    changed = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 204

    late = await api.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": NEW_PASSWORD + "-x"},
    )
    assert_problem(late, 400, "invalid_link")


async def test_two_confirmations_racing_with_one_token_set_one_password(api: Api) -> None:
    await api.register("race@example.com")
    token = await ask_reset(api, "race@example.com")

    first, second = await asyncio.gather(
        api.client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD},
        ),
        api.client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD + "-other"},
        ),
    )

    assert sorted([first.status_code, second.status_code]) == [204, 400]
    winner = NEW_PASSWORD if first.status_code == 204 else NEW_PASSWORD + "-other"
    assert (await api.token("race@example.com", winner)).status_code == 200
    notices = [
        m
        for m in await queued_mail(api, "race@example.com")
        if m["kind"] == "password_changed_notice"
    ]
    assert len(notices) == 1
