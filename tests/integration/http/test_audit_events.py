"""The audit log through the HTTP app: what a realistic flow records, and `GET /audit-events`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import audit_events
from domain.sessions import MAX_USER_AGENT_LENGTH
from entrypoints.container import resolve
from tests.integration.http.conftest import PASSWORD, Api, AppFactory, assert_problem, bearer
from tests.integration.secret_shapes import secrets_in_event

NEW_PASSWORD = "tangerine-umbrella-quietly-1987"
WRONG_PASSWORD = "wrong-password-for-the-audit-9"
GHOST = "ghost.visitor@example.com"
GHOST_PASSWORD = "ghost-password-never-stored-1"
AGENT = {"User-Agent": "audit-test/1.0", "X-Request-ID": "flow-request-1"}


async def all_events(api: Api, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    """Every page of the listing, newest first."""
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {**filters, "limit": "3"}
    while True:
        response = await api.client.get("/api/v1/audit-events", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        params["cursor"] = body["next_cursor"]


async def stored_rows(api: Api) -> list[str]:
    engine: AsyncEngine = await resolve(api.app.state.container.engine)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(audit_events))).mappings().all()
    return [json.dumps({k: str(v) for k, v in row.items()}) for row in rows]


async def test_a_realistic_flow_is_recorded_and_no_secret_reaches_an_event(api: Api) -> None:
    admin_id, admin = await api.admin()
    registered = await api.client.post(
        "/api/v1/auth/register",
        json={"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada"},
        headers=AGENT,
    )
    ada_id = registered.json()["id"]
    first = await api.tokens("ada@example.com")
    unknown = await api.token(GHOST, GHOST_PASSWORD)
    wrong = await api.token("ada@example.com", WRONG_PASSWORD)
    second = (await api.refresh(first["refresh_token"])).json()
    reused = await api.refresh(first["refresh_token"])
    third = await api.tokens("ada@example.com")
    key = await api.api_key(bearer(third["access_token"]))
    deleted = await api.client.delete(
        f"/api/v1/users/me/api-keys/{key['id']}", headers=bearer(third["access_token"])
    )
    changed = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(third["access_token"]),
    )
    fourth = await api.tokens("ada@example.com", NEW_PASSWORD)
    revoked = await api.client.post("/api/v1/auth/revoke", data={"token": fourth["access_token"]})
    updated = await api.client.patch(
        f"/api/v1/users/{ada_id}", json={"role": "admin", "full_name": "Ada L."}, headers=admin
    )
    assert [r.status_code for r in (registered, unknown, wrong, reused, deleted)] == [
        201,
        400,
        400,
        400,
        204,
    ]
    assert [r.status_code for r in (changed, revoked, updated)] == [204, 200, 200]

    events = await all_events(api, admin)

    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event)
    assert [e["occurred_at"] for e in events] == sorted(
        (e["occurred_at"] for e in events), reverse=True
    )
    [registration] = [e for e in by_type["user.registered"] if e["subject_id"] == ada_id]
    assert registration["actor_id"] is None
    assert registration["client_ip"] == "127.0.0.1"
    assert registration["user_agent"] == "audit-test/1.0"
    assert registration["request_id"] == "flow-request-1"
    assert len(by_type["user.login_succeeded"]) == 4
    ghost, wrong_password = sorted(
        by_type["user.login_failed"], key=lambda e: e["subject_id"] is not None
    )
    assert ghost["subject_id"] is None
    assert ghost["details"]["reason"] == "unknown_account"
    assert ghost["details"]["username_pseudonym"].startswith("hmac-sha256:")
    assert wrong_password["subject_id"] == ada_id
    [reuse] = by_type["session.reuse_detected"]
    assert reuse["subject_id"] == ada_id
    assert by_type["api_key.created"][0]["details"]["api_key_id"] == key["id"]
    assert by_type["api_key.deleted"][0]["details"]["api_key_id"] == key["id"]
    assert by_type["user.password_changed"][0]["actor_id"] == ada_id
    assert {e["details"]["reason"] for e in by_type["session.ended"]} == {
        "password_changed",
        "revoked",
    }
    [update] = by_type["user.updated"]
    assert (update["actor_id"], update["subject_id"]) == (admin_id, ada_id)
    assert update["details"] == {
        "before": {"full_name": "Ada", "role": "user"},
        "after": {"full_name": "Ada L.", "role": "admin"},
    }

    secrets = [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, GHOST_PASSWORD, GHOST, key["key"]]
    secrets.append(key["key"].removeprefix(key["prefix"] + "_"))
    for pair in (first, second, third, fourth):
        secrets += [pair["access_token"], pair["refresh_token"]]
    rows = await stored_rows(api)
    assert len(rows) == len(events)
    for row in rows:
        for secret in secrets:
            assert secret not in row
        assert "ghost" not in row.lower()


async def test_filters_select_by_actor_subject_type_and_time(api: Api) -> None:
    admin_id, admin = await api.admin()
    ada_id, _ = await api.user("ada@example.com")
    await api.client.patch(f"/api/v1/users/{ada_id}", json={"full_name": "Ada"}, headers=admin)
    everything = await all_events(api, admin)

    by_actor = await all_events(api, admin, actor_id=admin_id)
    by_subject = await all_events(api, admin, subject_id=ada_id)
    by_type = await all_events(api, admin, type="user.login_succeeded")
    newest = everything[0]["occurred_at"]
    since = await all_events(api, admin, since=newest)
    until = await all_events(api, admin, until=newest)

    assert {e["actor_id"] for e in by_actor} == {admin_id}
    assert {e["subject_id"] for e in by_subject} == {ada_id}
    assert {e["type"] for e in by_subject} == {
        "user.registered",
        "user.login_succeeded",
        "user.updated",
    }
    assert {e["type"] for e in by_type} == {"user.login_succeeded"}
    assert len(by_type) == 2
    assert since == [e for e in everything if e["occurred_at"] >= newest]
    assert until == [e for e in everything if e["occurred_at"] < newest]


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"actor_id": "not-a-uuid"}, "#/query/actor_id"),
        ({"subject_id": "42"}, "#/query/subject_id"),
        ({"type": "user.exploded"}, "#/query/type"),
        ({"since": "yesterday"}, "#/query/since"),
        ({"until": "2026-12-01"}, "#/query/until"),
        ({"limit": "0"}, "#/query/limit"),
        ({"limit": "101"}, "#/query/limit"),
        ({"cursor": "bm90LW91cnM"}, "#/query/cursor"),
    ],
)
async def test_malformed_filters_are_422_naming_the_parameter(
    api: Api, params: dict[str, str], pointer: str
) -> None:
    _, admin = await api.admin()

    response = await api.client.get("/api/v1/audit-events", params=params, headers=admin)

    body = assert_problem(response, 422, "validation_failed")
    assert [error["pointer"] for error in body["errors"]] == [pointer]


async def test_only_admins_read_the_log_and_nobody_changes_it(api: Api) -> None:
    _, user = await api.user("ada@example.com")
    _, admin = await api.admin()

    anonymous = await api.client.get("/api/v1/audit-events")
    forbidden = await api.client.get("/api/v1/audit-events", headers=user)
    changes = [
        await api.client.request(method, "/api/v1/audit-events", headers=admin)
        for method in ("POST", "PUT", "PATCH", "DELETE")
    ]

    assert_problem(anonymous, 401, "not_authenticated")
    assert_problem(forbidden, 403, "forbidden")
    for response in changes:
        assert_problem(response, 405, "method_not_allowed")


async def test_a_cursor_of_another_listing_is_refused(api: Api) -> None:
    _, admin = await api.admin()
    for n in range(2):
        await api.register(f"user{n}@example.com")
    users = await api.client.get("/api/v1/users", params={"limit": "1"}, headers=admin)

    response = await api.client.get(
        "/api/v1/audit-events", params={"cursor": users.json()["next_cursor"]}, headers=admin
    )

    assert isinstance(response, httpx.Response)
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("details", {"note": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"}),
        ("details", {"key": "acc_AbCdEfGh12_" + "s" * 43}),
        ("user_agent", "x " + "R" * 43 + " y"),
        ("details", {"after": {"new_password": "anything"}}),
        ("request_id", PASSWORD),
    ],
)
def test_the_suite_wide_sweep_recognises_each_kind_of_secret(field: str, value: object) -> None:
    row: dict[str, object] = {"id": "e", "type": "user.updated", "details": {}, field: value}

    assert list(secrets_in_event(row))


def test_the_suite_wide_sweep_passes_what_events_really_hold() -> None:
    row = {
        "id": "019ad3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "type": "user.login_failed",
        "user_agent": "python-httpx/0.28.1",
        "details": {"reason": "unknown_account", "username_pseudonym": "hmac-sha256:" + "a" * 64},
    }

    assert list(secrets_in_event(row)) == []


async def test_an_overlong_user_agent_is_kept_cut_and_a_forwarded_client_in_full(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(forwarded_allow_ips="127.0.0.1")
    _, admin = await api.admin()

    registered = await api.client.post(
        "/api/v1/auth/register",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"User-Agent": "A" * 5000, "X-Forwarded-For": "2001:db8:1:2:3:4:5:6"},
    )

    [event] = await all_events(api, admin, subject_id=registered.json()["id"])
    assert event["user_agent"] == "A" * MAX_USER_AGENT_LENGTH
    assert event["client_ip"] == "2001:db8:1:2:3:4:5:6"


async def test_ending_sessions_and_deleting_an_account_are_recorded_and_forget_the_name(
    api: Api,
) -> None:
    admin_id, admin = await api.admin()
    registered = await api.register("ada@example.com", full_name="Ada Lovelace")
    ada_id = registered.json()["id"]
    ada = await api.login("ada@example.com")
    sessions = await api.client.get("/api/v1/users/me/sessions", headers=ada)
    [current] = sessions.json()["items"]
    ended = await api.client.delete(f"/api/v1/users/me/sessions/{current['id']}", headers=ada)
    renamed = await api.client.patch(
        f"/api/v1/users/{ada_id}", json={"full_name": "Ada King"}, headers=admin
    )
    deleted = await api.client.delete(f"/api/v1/users/{ada_id}", headers=admin)
    assert [r.status_code for r in (ended, renamed, deleted)] == [204, 200, 204]

    about_ada = await all_events(api, admin, subject_id=ada_id)

    by_type = {event["type"]: event for event in about_ada}
    assert by_type["session.ended"]["details"]["session_id"] == current["id"]
    assert by_type["session.ended"]["actor_id"] == ada_id
    assert by_type["user.updated"]["details"] == {"before": {}, "after": {}}
    assert (by_type["user.deleted"]["actor_id"], by_type["user.deleted"]["subject_id"]) == (
        admin_id,
        ada_id,
    )
    for row in await stored_rows(api):
        assert "Ada" not in row
        assert "ada@example.com" not in row
