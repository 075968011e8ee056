"""Verification mail at registration, confirming it through the API and the HTML page."""

from __future__ import annotations

import re
from html import unescape

import jwt

from tests.integration.http.conftest import BASE_URL, Api, assert_problem
from tests.integration.http.queued_mail import last_token, queued_mail, token_in


async def test_registration_queues_a_verification_link_and_the_link_verifies(api: Api) -> None:
    created = await api.register("vera@example.com", full_name="Vera Lynn")
    assert created.json()["email_verified"] is False

    (message,) = await queued_mail(api, "vera@example.com")
    assert message["kind"] == "verify_email"
    assert message["values"]["full_name"] == "Vera Lynn"
    assert message["values"]["expires_in"] == "24 hours"
    link = message["values"]["link"]
    assert link.startswith(f"{BASE_URL}/verify-email?token=")
    claims = jwt.decode(
        (await api.tokens("vera@example.com"))["access_token"], options={"verify_signature": False}
    )
    assert claims["email_verified"] is False

    verified = await api.client.post("/api/v1/auth/verify-email", json={"token": token_in(message)})

    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    assert verified.json()["id"] == created.json()["id"]
    headers = await api.login("vera@example.com")
    assert (await api.client.get("/api/v1/users/me", headers=headers)).json()["email_verified"]
    claims = jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})
    assert claims["email_verified"] is True


async def test_unknown_reused_and_tampered_tokens_are_the_same_invalid_link(api: Api) -> None:
    await api.register("rita@example.com")
    token = await last_token(api, "rita@example.com", "verify_email")
    assert (await api.client.post("/api/v1/auth/verify-email", json={"token": token})).is_success

    details = set()
    for bad in (token, token[:-2] + "AA", "x" * 43, "a"):
        response = await api.client.post("/api/v1/auth/verify-email", json={"token": bad})
        details.add(assert_problem(response, 400, "invalid_link")["detail"])
    assert len(details) == 1


async def test_asking_again_sends_a_new_link_and_voids_the_old_one(api: Api) -> None:
    _, headers = await api.user("hugo@example.com")
    first = await last_token(api, "hugo@example.com", "verify_email")

    asked = await api.client.post("/api/v1/users/me/verification-email", headers=headers)

    assert asked.status_code == 202
    assert asked.content == b""
    second = await last_token(api, "hugo@example.com", "verify_email")
    assert second != first
    old = await api.client.post("/api/v1/auth/verify-email", json={"token": first})
    assert_problem(old, 400, "invalid_link")
    new = await api.client.post("/api/v1/auth/verify-email", json={"token": second})
    assert new.status_code == 200

    again = await api.client.post("/api/v1/users/me/verification-email", headers=headers)
    assert again.status_code == 202
    assert len(await queued_mail(api, "hugo@example.com")) == 2  # none once verified


async def test_an_api_key_cannot_ask_for_verification_mail(api: Api) -> None:
    _, headers = await api.user("kay@example.com")
    key = await api.api_key(headers)
    response = await api.client.post(
        "/api/v1/users/me/verification-email", headers={"X-API-Key": key["key"]}
    )
    assert_problem(response, 403, "forbidden")


async def test_a_spent_mail_allowance_answers_the_same_and_queues_nothing(
    api_factory: object,
) -> None:
    api: Api = await api_factory(rate_limit_mail="2/hour")  # type: ignore[operator]
    _, headers = await api.user("mona@example.com")
    for _ in range(3):
        response = await api.client.post("/api/v1/users/me/verification-email", headers=headers)
        assert response.status_code == 202
        assert "mail" not in response.headers.get("ratelimit-policy", "")

    assert len(await queued_mail(api, "mona@example.com")) == 2
    metrics = (await api.client.get("/metrics")).text
    assert 'accounts_mail_refused_total{kind="verify_email"} 2.0' in metrics


async def test_the_page_shows_a_form_and_only_its_post_spends_the_token(api: Api) -> None:
    await api.register("page@example.com")
    token = await last_token(api, "page@example.com", "verify_email")

    shown = await api.client.get("/verify-email", params={"token": token})

    assert shown.status_code == 200
    assert shown.headers["content-type"].startswith("text/html")
    csp = shown.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script" not in shown.text.lower()
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["referrer-policy"] == "no-referrer"
    action = re.search(r'<form method="post" action="([^"]+)"', shown.text)
    assert action is not None
    assert action[1] == "verify-email"
    hidden = re.search(r'name="token" value="([^"]*)"', shown.text)
    assert hidden is not None
    assert unescape(hidden[1]) == token
    await api.client.get("/verify-email", params={"token": token})  # a scanner, again
    me = await api.client.get("/api/v1/users/me", headers=await api.login("page@example.com"))
    assert me.json()["email_verified"] is False

    pressed = await api.client.post("/verify-email", data={"token": token})

    assert pressed.status_code == 200
    assert "page@example.com is confirmed" in pressed.text
    me = await api.client.get("/api/v1/users/me", headers=await api.login("page@example.com"))
    assert me.json()["email_verified"] is True
    again = await api.client.post("/verify-email", data={"token": token})
    assert again.status_code == 400
    assert "invalid or has expired" in again.text


async def test_the_page_escapes_whatever_the_link_holds(api: Api) -> None:
    shown = await api.client.get("/verify-email", params={"token": '"><script>alert(1)</script>'})
    assert shown.status_code == 200
    assert "<script>" not in shown.text
    missing = await api.client.get("/verify-email")
    assert missing.status_code == 200
    assert "invalid or has expired" in missing.text
    assert "<form" not in missing.text
