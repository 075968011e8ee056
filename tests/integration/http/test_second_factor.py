"""The second factor end to end (CONTRACT §10), against real Postgres.

Codes come from the few lines of RFC 6238 below, not from the service's implementation; the
service's clock is fixed so a test chooses which time step each code belongs to.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from dependency_injector import providers
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.identity.secret_box import AesGcmSecretBox
from adapters.persistence.tables import mfa_challenges, totp_factors, users
from entrypoints.container import Container, resolve
from tests.fakes import FixedClock
from tests.integration.http.conftest import (
    PASSWORD,
    Api,
    AppFactory,
    assert_oauth_error,
    assert_problem,
)

MFA_GRANT = "urn:accounts:params:oauth:grant-type:mfa"
TOTP = "/api/v1/users/me/mfa/totp"
CONFIRM = "/api/v1/users/me/mfa/totp/confirm"
RECOVERY = "/api/v1/users/me/mfa/recovery-codes"


def totp(secret: str, at: datetime, steps: int = 0) -> str:
    """RFC 6238 with HMAC-SHA1, six digits and 30-second steps, written out independently."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(at.timestamp()) // 30 + steps
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{number:06d}"


def claims_of(access_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return claims


class Mfa:
    """The app, its fixed clock, and one user's flows."""

    def __init__(self, api: Api, clock: FixedClock) -> None:
        self.api = api
        self.clock = clock
        self.client = api.client

    def code(self, secret: str, steps: int = 0) -> str:
        return totp(secret, self.clock.now(), steps)

    def next_step(self) -> None:
        self.clock.advance(timedelta(seconds=30))

    async def enrol(self, headers: dict[str, str]) -> tuple[str, list[str]]:
        """Enrol and confirm: the secret and the recovery codes; the clock moves a step on."""
        started = await self.client.post(TOTP, headers=headers)
        assert started.status_code == 200, started.text
        secret = started.json()["secret"]
        confirmed = await self.client.post(
            CONFIRM, json={"code": self.code(secret)}, headers=headers
        )
        assert confirmed.status_code == 200, confirmed.text
        self.next_step()
        return secret, confirmed.json()["recovery_codes"]

    async def mfa_token(self, email: str) -> str:
        response = await self.api.token(email)
        body = assert_oauth_error(response, "mfa_required")
        token: str = body["mfa_token"]
        return token

    async def grant(self, mfa_token: str, otp: str) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/token",
            data={"grant_type": MFA_GRANT, "mfa_token": mfa_token, "otp": otp},
        )


async def start(api_factory: AppFactory, **settings: Any) -> Mfa:
    # The start of a step, so "one step later" and "one step earlier" are unambiguous; in the
    # past, so moving it on never issues a token the verifier (on the real clock) calls early.
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    clock = FixedClock(now - timedelta(seconds=now.second % 30))
    api = await api_factory(overrides={"clock": providers.Object(clock)}, **settings)
    return Mfa(api, clock)


@pytest.fixture
async def mfa(api_factory: AppFactory) -> Mfa:
    """With room for the many codes a test sends; the limit itself is tested on its own."""
    return await start(api_factory, rate_limit_mfa="1000/minute")


async def test_enrol_log_in_with_a_code_and_with_a_recovery_code(mfa: Mfa) -> None:
    _, other_device = await mfa.api.user("ada@example.com")
    other_refresh = (await mfa.api.tokens("ada@example.com"))["refresh_token"]
    headers = await mfa.api.login("ada@example.com")

    started = await mfa.client.post(TOTP, headers=headers)
    assert started.status_code == 200
    assert started.headers["cache-control"] == "no-store"
    secret = started.json()["secret"]
    uri = urlparse(started.json()["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [secret]
    assert len(base64.b32decode(secret)) == 20

    confirmed = await mfa.client.post(CONFIRM, json={"code": mfa.code(secret)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == len(set(recovery)) == 10

    me = await mfa.client.get("/api/v1/users/me", headers=headers)
    assert me.json()["mfa_enabled"] is True
    # Turning it on ended the other sessions, not the caller's.
    assert (await mfa.client.get("/api/v1/users/me", headers=other_device)).status_code == 401
    assert_oauth_error(await mfa.api.refresh(other_refresh), "invalid_grant")

    mfa.next_step()
    mfa_token = await mfa.mfa_token("ada@example.com")
    granted = await mfa.grant(mfa_token, mfa.code(secret))
    assert granted.status_code == 200, granted.text
    assert granted.headers["cache-control"] == "no-store"
    tokens = granted.json()
    claims = claims_of(tokens["access_token"])
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["auth_time"] == int(mfa.clock.now().timestamp())

    mfa.clock.advance(timedelta(minutes=1))
    refreshed = (await mfa.api.refresh(tokens["refresh_token"])).json()
    assert claims_of(refreshed["access_token"])["amr"] == ["pwd", "otp"]
    assert claims_of(refreshed["access_token"])["auth_time"] == claims["auth_time"]

    by_recovery = await mfa.grant(await mfa.mfa_token("ada@example.com"), recovery[0])
    assert by_recovery.status_code == 200, by_recovery.text
    assert claims_of(by_recovery.json()["access_token"])["amr"] == ["pwd", "otp"]
    again = await mfa.grant(await mfa.mfa_token("ada@example.com"), recovery[0])
    assert_oauth_error(again, "invalid_grant")


async def test_the_secret_is_sealed_and_recovery_codes_hashed_at_rest(
    mfa: Mfa, engine: AsyncEngine
) -> None:
    user_id, headers = await mfa.api.user("ada@example.com")
    secret, recovery = await mfa.enrol(headers)

    async with engine.connect() as connection:
        row = (await connection.execute(select(totp_factors))).mappings().one()
        flag = (await connection.execute(select(users.c.mfa_enabled))).scalar_one()
    assert str(row["user_id"]) == user_id
    assert flag is True
    stored = bytes(row["sealed_secret"])
    assert secret.encode() not in stored
    assert base64.b32decode(secret) not in stored
    codes = " ".join(row["recovery_codes"])
    assert all(code.replace("-", "") not in codes for code in recovery)


async def test_a_code_is_accepted_once_and_drift_is_one_step(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    secret, _ = await mfa.enrol(headers)
    mfa.clock.advance(timedelta(minutes=2))

    for steps in (-2, 2):
        response = await mfa.grant(await mfa.mfa_token("ada@example.com"), mfa.code(secret, steps))
        assert_oauth_error(response, "invalid_grant")
    early = await mfa.grant(await mfa.mfa_token("ada@example.com"), mfa.code(secret, -1))
    assert early.status_code == 200, early.text

    mfa.next_step()
    code = mfa.code(secret)
    assert (await mfa.grant(await mfa.mfa_token("ada@example.com"), code)).status_code == 200
    # The same code again, with a fresh mfa_token: a replay within its step.
    replay = await mfa.grant(await mfa.mfa_token("ada@example.com"), code)
    assert_oauth_error(replay, "invalid_grant")
    # An earlier step than the last one used is refused too, even within the drift window.
    late = await mfa.grant(await mfa.mfa_token("ada@example.com"), mfa.code(secret, -1))
    assert_oauth_error(late, "invalid_grant")


async def test_bad_codes_and_tokens_at_the_mfa_grant(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    secret, _ = await mfa.enrol(headers)
    _, bob_headers = await mfa.api.user("bob@example.com")
    bob_secret, _ = await mfa.enrol(bob_headers)
    token = await mfa.mfa_token("ada@example.com")
    right = mfa.code(secret)

    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for otp in (wrong, "12a456", right + "0", "9" * 500, " ", mfa.code(bob_secret)):
        if otp == right:
            continue
        assert_oauth_error(await mfa.grant(token, otp), "invalid_grant")

    # Wrong codes left the token usable; a success spends it.
    assert (await mfa.grant(token, right)).status_code == 200
    used = await mfa.grant(token, mfa.code(secret, 1))
    body = assert_oauth_error(used, "invalid_grant")
    assert "mfa_token" in body["error_description"]

    assert_oauth_error(await mfa.grant("not-a-token", right), "invalid_grant")
    assert_oauth_error(await mfa.grant("x" * 5000, right), "invalid_grant")
    expiring = await mfa.mfa_token("ada@example.com")
    mfa.clock.advance(timedelta(minutes=5))
    assert_oauth_error(await mfa.grant(expiring, mfa.code(secret)), "invalid_grant")

    missing_otp = await mfa.client.post(
        "/api/v1/auth/token", data={"grant_type": MFA_GRANT, "mfa_token": token}
    )
    assert_oauth_error(missing_otp, "invalid_request")
    missing_token = await mfa.client.post(
        "/api/v1/auth/token", data={"grant_type": MFA_GRANT, "otp": right}
    )
    assert_oauth_error(missing_token, "invalid_request")


async def test_the_mfa_limit_counts_every_code_per_account(api_factory: AppFactory) -> None:
    mfa = await start(api_factory)
    _, headers = await mfa.api.user("ada@example.com")
    secret, _ = await mfa.enrol(headers)
    token = await mfa.mfa_token("ada@example.com")
    wrong = f"{(int(mfa.code(secret)) + 5) % 1_000_000:06d}"

    # Confirming the enrolment checked one code already.
    for remaining in (3, 2, 1, 0):
        response = await mfa.grant(token, wrong)
        assert_oauth_error(response, "invalid_grant")
        assert f'"mfa";r={remaining}' in response.headers["ratelimit"]
    refused = await mfa.grant(token, mfa.code(secret))
    assert_problem(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    # Another mfa_token of the same account shares the allowance; so do the account's routes.
    refused = await mfa.grant(await mfa.mfa_token("ada@example.com"), mfa.code(secret))
    assert_problem(refused, 429, "rate_limited")
    recovery = await mfa.client.post(RECOVERY, json={"code": mfa.code(secret)}, headers=headers)
    assert_problem(recovery, 429, "rate_limited")


async def test_enrolment_errors(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    no_enrolment = await mfa.client.post(CONFIRM, json={"code": "123456"}, headers=headers)
    assert_problem(no_enrolment, 400, "invalid_otp")

    older = (await mfa.client.post(TOTP, headers=headers)).json()["secret"]
    newer = (await mfa.client.post(TOTP, headers=headers)).json()["secret"]
    assert older != newer
    stale = await mfa.client.post(CONFIRM, json={"code": mfa.code(older)}, headers=headers)
    assert_problem(stale, 400, "invalid_otp")
    for code in ("abcdef", "1234567", f"{(int(mfa.code(newer)) + 1) % 1_000_000:06d}"):
        bad = await mfa.client.post(CONFIRM, json={"code": code}, headers=headers)
        assert_problem(bad, 400, "invalid_otp")
    too_long = await mfa.client.post(CONFIRM, json={"code": "1" * 65}, headers=headers)
    assert_problem(too_long, 422, "validation_failed")
    extra = await mfa.client.post(CONFIRM, json={"code": "1", "x": 1}, headers=headers)
    assert_problem(extra, 422, "validation_failed")

    ok = await mfa.client.post(CONFIRM, json={"code": mfa.code(newer)}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert_problem(await mfa.client.post(TOTP, headers=headers), 409, "mfa_already_enabled")


async def test_api_keys_cannot_manage_the_second_factor(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    key = {"X-API-Key": (await mfa.api.api_key(headers))["key"]}
    assert_problem(await mfa.client.post(TOTP, headers=key), 403, "forbidden")
    assert_problem(
        await mfa.client.post(CONFIRM, json={"code": "123456"}, headers=key), 403, "forbidden"
    )
    assert_problem(await mfa.client.post(TOTP, headers={}), 401, "not_authenticated")


async def test_regenerating_recovery_codes_replaces_them(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    secret, old = await mfa.enrol(headers)

    response = await mfa.client.post(RECOVERY, json={"code": mfa.code(secret)}, headers=headers)
    assert response.status_code == 200, response.text
    new = response.json()["recovery_codes"]
    assert len(new) == 10
    assert set(new).isdisjoint(old)

    stale = await mfa.grant(await mfa.mfa_token("ada@example.com"), old[1])
    assert_oauth_error(stale, "invalid_grant")
    fresh = await mfa.grant(await mfa.mfa_token("ada@example.com"), new[1])
    assert fresh.status_code == 200
    wrong = await mfa.client.post(RECOVERY, json={"code": old[2]}, headers=headers)
    assert_problem(wrong, 400, "invalid_otp")


async def test_turning_it_off_with_a_code_in_the_query_or_the_body(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    secret, recovery = await mfa.enrol(headers)

    neither = await mfa.client.delete(TOTP, headers=headers)
    assert_problem(neither, 422, "validation_failed")
    wrong = await mfa.client.delete(TOTP, params={"code": "000000x"}, headers=headers)
    assert_problem(wrong, 400, "invalid_otp")
    off = await mfa.client.delete(TOTP, params={"code": mfa.code(secret)}, headers=headers)
    assert off.status_code == 204, off.text
    me = await mfa.client.get("/api/v1/users/me", headers=headers)
    assert me.json()["mfa_enabled"] is False
    assert (await mfa.api.token("ada@example.com")).status_code == 200
    assert_problem(
        await mfa.client.delete(TOTP, params={"code": recovery[0]}, headers=headers),
        400,
        "invalid_otp",
    )

    mfa.next_step()
    secret, recovery = await mfa.enrol(headers)
    by_body = await mfa.client.request("DELETE", TOTP, json={"code": recovery[4]}, headers=headers)
    assert by_body.status_code == 204, by_body.text


async def test_an_admin_turns_off_a_users_second_factor(mfa: Mfa) -> None:
    user_id, headers = await mfa.api.user("ada@example.com")
    secret, _ = await mfa.enrol(headers)
    admin_id, admin = await mfa.api.admin()
    path = f"/api/v1/users/{user_id}/mfa/totp"

    assert_problem(await mfa.client.delete(path, headers=headers), 403, "forbidden")
    assert_problem(
        await mfa.client.delete(
            "/api/v1/users/019ab2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d/mfa/totp", headers=admin
        ),
        404,
        "user_not_found",
    )
    assert (await mfa.client.delete(path, headers=admin)).status_code == 204

    # Every session of the user ended, and the password alone logs in again.
    assert (await mfa.client.get("/api/v1/users/me", headers=headers)).status_code == 401
    assert (await mfa.api.token("ada@example.com")).status_code == 200
    events = await mfa.client.get(
        "/api/v1/audit-events", params={"type": "mfa.disabled"}, headers=admin
    )
    (event,) = events.json()["items"]
    assert (event["actor_id"], event["subject_id"]) == (admin_id, user_id)
    assert secret not in str(event)


async def test_the_same_code_sent_twice_at_once_succeeds_once(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    secret, _ = await mfa.enrol(headers)
    tokens = [await mfa.mfa_token("ada@example.com") for _ in range(2)]
    code = mfa.code(secret)

    responses = await asyncio.gather(*(mfa.grant(token, code) for token in tokens))

    assert sorted(r.status_code for r in responses) == [200, 400]


async def test_one_mfa_token_sent_twice_at_once_succeeds_once(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    secret, _ = await mfa.enrol(headers)
    token = await mfa.mfa_token("ada@example.com")

    responses = await asyncio.gather(
        mfa.grant(token, mfa.code(secret)), mfa.grant(token, mfa.code(secret, 1))
    )

    assert sorted(r.status_code for r in responses) == [200, 400]


async def test_a_wrong_password_gets_no_mfa_token(mfa: Mfa) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    await mfa.enrol(headers)
    body = assert_oauth_error(
        await mfa.api.token("ada@example.com", "wrong" + PASSWORD), "invalid_grant"
    )
    assert "mfa_token" not in body


async def test_purge_sessions_removes_expired_mfa_challenges(mfa: Mfa, engine: AsyncEngine) -> None:
    _, headers = await mfa.api.user("ada@example.com")
    await mfa.enrol(headers)
    await mfa.mfa_token("ada@example.com")
    mfa.clock.advance(timedelta(minutes=5))
    fresh = await mfa.mfa_token("ada@example.com")
    container: Container = mfa.api.app.state.container

    await (await resolve(container.purge_ended_sessions)).execute()

    async with engine.connect() as connection:
        digests = (await connection.execute(select(mfa_challenges.c.digest))).scalars().all()
    assert digests == [hashlib.sha256(fresh.encode()).hexdigest()]


async def test_without_a_key_enrolment_answers_503(api_factory: AppFactory) -> None:
    box = providers.Object(AesGcmSecretBox(lambda: None))
    api = await api_factory(overrides={"secret_box": box})
    _, headers = await api.user("ada@example.com")

    response = await api.client.post(TOTP, headers=headers)

    assert_problem(response, 503, "service_unavailable")
    assert (await api.client.get("/api/v1/users/me", headers=headers)).json()[
        "mfa_enabled"
    ] is False
