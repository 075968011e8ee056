"""Registration and the OAuth2 token endpoint, as an HTTP client sees them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt

from tests.integration.http.conftest import (
    BASE_URL,
    JWT_SECRET,
    PASSWORD,
    Api,
    AppFactory,
    assert_problem,
)

USER_FIELDS = {
    "id",
    "email",
    "email_verified",
    "full_name",
    "role",
    "is_active",
    "mfa_enabled",
    "created_at",
    "updated_at",
}


async def test_register_creates_an_active_user_with_location(api: Api) -> None:
    response = await api.register(" Ada@Example.COM ", full_name="  Ada   Lovelace ")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "Ada@example.com"
    assert body["full_name"] == "Ada Lovelace"
    assert body["role"] == "user"
    assert body["is_active"] is True
    assert body["created_at"].endswith("Z")
    assert response.headers["location"] == f"/api/v1/users/{body['id']}"


async def test_register_refuses_an_email_taken_in_another_case(api: Api) -> None:
    await api.register("ada@example.com")

    body = assert_problem(await api.register("ADA@example.com"), 409, "email_taken")

    assert body["title"] == "Email already registered"


async def test_register_cannot_choose_its_role(api: Api) -> None:
    response = await api.register("mallory@example.com", role="admin")

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [
        {"pointer": "#/role", "detail": "This field is not accepted.", "code": "extra_forbidden"}
    ]


async def test_register_reports_each_invalid_field(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "full_name": 7}
    )

    body = assert_problem(response, 422, "validation_failed")
    pointers = {e["pointer"]: e["code"] for e in body["errors"]}
    assert pointers == {
        "#/email": "invalid_email",
        "#/password": "missing",
        "#/full_name": "string_type",
    }


async def test_register_enforces_the_password_policy(api: Api) -> None:
    short = assert_problem(await api.register("a@example.com", "short"), 422, "validation_failed")
    common = assert_problem(
        await api.register("b@example.com", "passwordpassword"), 422, "validation_failed"
    )

    assert short["errors"][0]["pointer"] == "#/password"
    assert short["errors"][0]["code"] == "weak_password"
    assert "15" in short["errors"][0]["detail"]
    assert common["errors"][0]["code"] == "weak_password"


async def test_malformed_json_is_a_400(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/register",
        content=b'{"email": ',
        headers={"content-type": "application/json"},
    )

    assert_problem(response, 400, "malformed_request")


async def test_a_body_that_is_not_json_is_a_415(api: Api) -> None:
    response = await api.client.post("/api/v1/auth/register", data={"email": "a@example.com"})

    assert_problem(response, 415, "unsupported_media_type")


async def test_concurrent_registration_of_one_email_creates_exactly_one(api: Api) -> None:
    responses = await asyncio.gather(
        *(api.register("race@example.com" if i % 2 else "RACE@Example.com") for i in range(8))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "email_taken")


async def test_password_grant_issues_a_bearer_access_token(api: Api) -> None:
    user_id, _ = await api.user("ada@example.com")

    response = await api.token("ADA@example.com")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    header = jwt.get_unverified_header(body["access_token"])
    # The default: RS256 under the service's own key, published in its JWKS.
    jwks = jwt.PyJWKSet.from_json(api.app.state.provided["public_keys"].jwks().body.decode())
    claims = jwt.decode(
        body["access_token"], jwks[header["kid"]], algorithms=["RS256"], audience="accounts-api"
    )
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert claims["sub"] == user_id
    assert claims["iss"] == BASE_URL  # JWT_ISSUER defaults to PUBLIC_URL
    assert claims["role"] == "user"
    assert {"exp", "iat", "jti"} <= set(claims)


async def test_wrong_password_and_unknown_email_get_the_same_oauth_error(api: Api) -> None:
    await api.user("ada@example.com")

    wrong = await api.token("ada@example.com", "not-the-password-at-all")
    unknown = await api.token("nobody@example.com")

    for response in (wrong, unknown):
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["error"] == body["code"] == "invalid_grant"
        assert body["status"] == 400
        assert body["type"].endswith("/errors/invalid_grant")
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(wrong) == strip(unknown)


async def test_token_endpoint_rejects_malformed_requests_the_oauth_way(api: Api) -> None:
    cases = {
        "unsupported_grant_type": {"grant_type": "authorization_code"},
        "invalid_request": {"grant_type": "password", "username": "a@example.com"},
    }
    for error, form in cases.items():
        response = await api.client.post("/api/v1/auth/token", data=form)
        assert response.status_code == 400
        assert response.json()["error"] == error
    as_json = await api.client.post(
        "/api/v1/auth/token", json={"grant_type": "password", "username": "a", "password": "b"}
    )
    assert as_json.json()["error"] == "invalid_request"
    repeated = await api.client.post(
        "/api/v1/auth/token",
        content="grant_type=password&username=a@example.com&username=b@example.com&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json()["error"] == "invalid_request"


async def test_a_deactivated_account_cannot_log_in(api: Api) -> None:
    _, admin = await api.admin()
    user_id, _ = await api.user("ada@example.com")
    await api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin)

    response = await api.token("ada@example.com")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def _forge(claims: dict[str, object], key: str = JWT_SECRET, **header: object) -> str:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "iss": BASE_URL,
        "aud": "accounts-api",
        "sub": str(uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": str(uuid4()),
        "role": "admin",
    }
    return jwt.encode(
        {**base, **claims}, key, algorithm="HS256", headers={"typ": "at+jwt", **header}
    )


async def test_bad_tokens_get_401_invalid_token(api_factory: AppFactory) -> None:
    # Forged with the shared secret: the claims are wrong, the signature is not.
    api = await api_factory(jwt_algorithm="HS256")
    user_id, headers = await api.user("ada@example.com")
    good = headers["Authorization"].removeprefix("Bearer ")
    past = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    unsigned = jwt.encode({"sub": user_id}, None, algorithm="none")
    tokens = {
        "garbage": "not.a.jwt",
        "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "alg none": unsigned,
        "expired": _forge({"sub": user_id, "exp": past, "iat": past - 60}),
        "wrong audience": _forge({"sub": user_id, "aud": "another-api"}),
        "wrong issuer": _forge({"sub": user_id, "iss": "evil"}),
        "refresh typ": _forge({"sub": user_id}, typ="rt+jwt"),
        "missing role": jwt.encode(
            {
                "iss": BASE_URL,
                "aud": "accounts-api",
                "sub": user_id,
                "exp": 2**31,
                "iat": 0,
                "jti": "x",
            },
            JWT_SECRET,
            algorithm="HS256",
            headers={"typ": "at+jwt"},
        ),
        "other key": _forge({"sub": user_id}, key="another-secret-that-is-32-bytes-long!"),
        "unknown subject": _forge({}),
    }
    for name, token in tokens.items():
        response = await api.client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert_problem(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == (
            'Bearer realm="accounts", error="invalid_token"'
        ), name


async def test_no_credentials_is_401_not_authenticated(api: Api) -> None:
    for headers in ({}, {"Authorization": "Basic YTpi"}):
        response = await api.client.get("/api/v1/users/me", headers=headers)
        assert_problem(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"] == 'Bearer realm="accounts"'


async def test_password_is_never_echoed(api: Api) -> None:
    response = await api.register("ada@example.com")
    token = await api.token("ada@example.com")

    assert PASSWORD not in response.text
    assert PASSWORD not in token.text
    assert "hash" not in response.text
