"""OWASP API2:2023 Broken Authentication: only tokens the service signed, of the right kind.

Covered elsewhere and not repeated here: garbage, tampered, minimal `alg=none`, expired,
wrong-audience, wrong-issuer, wrong-`typ`, missing-claim and other-key tokens
(tests/integration/http/test_auth.py::test_bad_tokens_get_401_invalid_token); brute force on
one username from rotating addresses gets 429 (tests/integration/http/test_rate_limits.py::
test_brute_force_on_one_username_from_rotating_addresses_gets_429); refresh-token reuse ends
the session (tests/integration/http/test_tokens.py). This module adds the attacks those leave
out: algorithm confusion with the public key, a complete `alg=none` token, a forged `role`
claim, credentials of one kind presented as another, and genuinely signed tokens whose `exp` or
`iat` is no date.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.http.conftest import (
    BASE_URL,
    JWT_SECRET,
    Api,
    AppFactory,
    assert_problem,
)


@pytest.fixture
async def api(api_factory: AppFactory) -> Api:
    """The app on a shared secret: these tests forge tokens whose signature is right, so that
    what refuses them is the rule under test, not an unknown key."""
    return await api_factory(jwt_algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(sub: str, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "iss": BASE_URL,
        "aud": "accounts-api",
        "sub": sub,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": str(uuid4()),
        "role": "user",
        **overrides,
    }


def _session_of(headers: dict[str, str]) -> dict[str, Any]:
    """The session claims (`sid`, `auth_time`, `amr`) of a genuine login's bearer token."""
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return {name: claims[name] for name in ("sid", "auth_time", "amr")}


def _hand_signed(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWS built by hand: PyJWT rightly refuses to make the malicious ones."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def _me(api: Api, token: str) -> None:
    response = await api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 401, "invalid_token")


async def test_hs256_signed_with_the_rs256_public_key_is_refused(
    api_factory: AppFactory, tmp_path: Path
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_file, public_file = tmp_path / "private.pem", tmp_path / "public.pem"
    private_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_file.write_bytes(public_pem)
    api = await api_factory(
        jwt_algorithm="RS256",
        jwt_secret=None,
        jwt_private_key_file=private_file,
        jwt_public_key_file=public_file,
    )
    user_id, genuine = await api.user("ada@example.com")
    assert (await api.client.get("/api/v1/users/me", headers=genuine)).status_code == 200

    claims = _claims(user_id)
    for key in (public_pem, public_pem.strip()):
        await _me(api, _hand_signed({"alg": "HS256", "typ": "at+jwt"}, claims, key))


async def test_a_complete_unsigned_token_is_refused(api: Api) -> None:
    user_id, _ = await api.user("ada@example.com")

    for alg in ("none", "None", "NONE"):
        await _me(api, _hand_signed({"alg": alg, "typ": "at+jwt"}, _claims(user_id), None))


async def test_a_token_valid_but_for_its_header_typ_is_refused(api: Api) -> None:
    user_id, _ = await api.user("ada@example.com")

    for header in ({"alg": "HS256"}, {"alg": "HS256", "typ": "JWT"}, {"alg": "HS256", "typ": ""}):
        token = _hand_signed(header, _claims(user_id), JWT_SECRET.encode())
        await _me(api, token)


async def test_a_forged_admin_role_claim_grants_nothing(api: Api) -> None:
    """Signed with the real secret (as a leaked-claims bug would be): the role is read fresh."""
    user_id, genuine = await api.user("ada@example.com")
    token = jwt.encode(
        _claims(user_id, role="admin", **_session_of(genuine)),
        JWT_SECRET,
        algorithm="HS256",
        headers={"typ": "at+jwt"},
    )

    response = await api.client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})

    assert_problem(response, 403, "forbidden")


async def test_credentials_of_one_kind_are_refused_as_another(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    pair = await api.tokens("ada@example.com")
    key = (await api.api_key(headers))["key"]

    refresh_as_bearer = await api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"}
    )
    key_as_bearer = await api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {key}"}
    )
    bearer_as_key = await api.client.get(
        "/api/v1/users/me", headers={"X-API-Key": pair["access_token"]}
    )
    access_as_refresh = await api.refresh(pair["access_token"])

    assert_problem(refresh_as_bearer, 401, "invalid_token")
    assert_problem(key_as_bearer, 401, "invalid_token")
    assert_problem(bearer_as_key, 401, "invalid_token")
    assert access_as_refresh.status_code == 400
    assert access_as_refresh.json()["error"] == "invalid_grant"
    # The genuine refresh token was not spent by any of that.
    assert (await api.refresh(pair["refresh_token"])).status_code == 200


def _with_raw_claim(token_claims: dict[str, Any], name: str, raw_json: str) -> str:
    """A token signed with the real secret whose claim `name` is the JSON text `raw_json`."""
    placeholder = f"__{name}__"
    payload = json.dumps({**token_claims, name: placeholder}).replace(f'"{placeholder}"', raw_json)
    header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode())
    signing_input = f"{header}.{_b64(payload.encode())}"
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def test_a_token_without_its_session_claims_is_refused(api: Api) -> None:
    """`sid`, `auth_time` and `amr` are required: a user token names its login session."""
    user_id, genuine = await api.user("ada@example.com")
    session = _session_of(genuine)
    complete = _claims(user_id, **session)
    tokens = {
        f"no {name}": jwt.encode(
            {k: v for k, v in complete.items() if k != name},
            JWT_SECRET,
            algorithm="HS256",
            headers={"typ": "at+jwt"},
        )
        for name in session
    }
    tokens["amr empty"] = _with_raw_claim(complete, "amr", "[]")
    tokens["amr a string"] = _with_raw_claim(complete, "amr", '"pwd"')
    tokens["auth_time a string"] = _with_raw_claim(complete, "auth_time", '"0"')
    tokens["sid not a UUID"] = _with_raw_claim(complete, "sid", '"session-1"')
    tokens["sid of no session"] = _with_raw_claim(complete, "sid", f'"{uuid4()}"')
    for name, token in tokens.items():
        response = await api.client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, (name, response.text)
        assert_problem(response, 401, "invalid_token")
    assert (await api.client.get("/api/v1/users/me", headers=genuine)).status_code == 200


async def test_signed_tokens_with_times_out_of_range_or_not_numbers_are_refused(api: Api) -> None:
    """RFC 7519 NumericDate: a JSON number of seconds; beyond what a date can hold is no date."""
    user_id, _ = await api.user("ada@example.com")
    soon = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    tokens = {
        "exp 10**20": _with_raw_claim(_claims(user_id), "exp", str(10**20)),
        "iat -10**20": _with_raw_claim(_claims(user_id), "iat", str(-(10**20))),
        "exp 1e300": _with_raw_claim(_claims(user_id), "exp", "1e300"),
        "exp 1e400 (infinity)": _with_raw_claim(_claims(user_id), "exp", "1e400"),
        "exp NaN": _with_raw_claim(_claims(user_id), "exp", "NaN"),
        "exp after year 9999": _with_raw_claim(_claims(user_id), "exp", "253402300800"),
        "exp a string": _with_raw_claim(_claims(user_id), "exp", f'"{soon}"'),
        "iat a string": _with_raw_claim(_claims(user_id), "iat", '"0"'),
        "exp a boolean": _with_raw_claim(_claims(user_id), "exp", "true"),
        "iat a list": _with_raw_claim(_claims(user_id), "iat", "[0]"),
    }
    for name, token in tokens.items():
        response = await api.client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, (name, response.status_code, response.text)
        assert_problem(response, 401, "invalid_token")


async def test_a_fractional_expiry_is_a_valid_numeric_date(api: Api) -> None:
    user_id, genuine = await api.user("ada@example.com")
    soon = (datetime.now(UTC) + timedelta(minutes=5)).timestamp()

    token = _with_raw_claim(_claims(user_id, **_session_of(genuine)), "exp", repr(soon + 0.5))
    response = await api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200, response.text
