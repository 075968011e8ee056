"""Tokens that name, bring or swap keys, against a service signing with RS256 (CONTRACT §9).

Only the keys the service holds verify its tokens: a `kid` it never published, a key of another
type, no signature at all, or a key the token carries or points to (`jwk`, `jku`, `x5u`, `x5c`)
each get 401 `invalid_token`, never a 500.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.integration.http.conftest import BASE_URL, Api, AppFactory, assert_problem
from tests.jwks_server import SigningKey, forge

OURS = SigningKey.rsa("ours")


@pytest.fixture
async def rs256(api_factory: AppFactory, tmp_path: Path) -> Api:
    private_file, public_file = OURS.write_pem_pair(tmp_path)
    return await api_factory(
        jwt_algorithm="RS256",
        jwt_secret=None,
        jwt_private_key_file=private_file,
        jwt_public_key_file=public_file,
    )


async def _genuine(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real login's header and claims, to copy into forged tokens."""
    _, headers = await api.user("ada@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")
    assert (await api.client.get("/api/v1/users/me", headers=headers)).status_code == 200
    claims = jwt.decode(token, options={"verify_signature": False})
    now = datetime.now(UTC)
    claims["iat"] = int(now.timestamp())
    claims["exp"] = int((now + timedelta(minutes=5)).timestamp())
    assert claims["iss"] == BASE_URL
    header = jwt.get_unverified_header(token)
    del header["alg"]  # each forged token names its own
    return header, claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: dict[str, Any], claims: dict[str, Any], key: SigningKey, alg: str) -> str:
    """Signed by hand, so the header may hold what PyJWT refuses to write (a non-string kid)."""
    signing_input = (
        f"{_b64(json.dumps({**header, 'alg': alg}).encode())}.{_b64(json.dumps(claims).encode())}"
    )
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key.private_key)
    return f"{signing_input}.{_b64(signature)}"


async def _refused(api: Api, token: str) -> None:
    response = await api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_our_own_key_signs_a_token_that_passes(rs256: Api) -> None:
    header, claims = await _genuine(rs256)

    token = jwt.encode(claims, OURS.private_key, algorithm="RS256", headers=header)
    response = await rs256.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200


@pytest.mark.parametrize("kid", ["unknown", "", "x" * 300, 7, ["ours"], {"kid": "x"}])
async def test_a_kid_we_never_published_is_refused(rs256: Api, kid: object) -> None:
    header, claims = await _genuine(rs256)

    token = _signed({**header, "kid": kid}, claims, OURS, "RS256")

    await _refused(rs256, token)


async def test_a_key_of_another_type_is_refused(rs256: Api) -> None:
    header, claims = await _genuine(rs256)
    other_rsa = SigningKey.rsa("other")

    for token in (
        _signed(header, claims, SigningKey.ec(), "ES256"),
        _signed(header, claims, other_rsa, "RS256"),
        _signed(header, claims, other_rsa, "PS256"),
        _signed(header, claims, OURS, "PS256"),
        forge({**header, "alg": "HS256"}, claims, OURS.public_pem()),
    ):
        await _refused(rs256, token)


async def test_an_unsigned_token_naming_our_key_is_refused(rs256: Api) -> None:
    header, claims = await _genuine(rs256)

    for alg in ("none", "None", "NONE", ""):
        await _refused(rs256, forge({**header, "alg": alg}, claims, None))


@pytest.mark.parametrize("member", ["jwk", "jku", "x5u", "x5c"])
async def test_a_key_carried_or_pointed_to_by_the_token_is_refused(rs256: Api, member: str) -> None:
    header, claims = await _genuine(rs256)
    attacker = SigningKey.rsa("attacker")
    values = {
        "jwk": attacker.jwk(),
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": [base64.b64encode(attacker.public_pem()).decode()],
    }

    # Signed by the attacker, whose key rides along; and even signed by our own key.
    for key in (attacker, OURS):
        token = _signed({**header, member: values[member]}, claims, key, "RS256")
        await _refused(rs256, token)


async def test_a_header_that_is_not_a_json_object_is_refused(rs256: Api) -> None:
    _, claims = await _genuine(rs256)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    for header in (b"[]", b'"at+jwt"', b"{", b'{"alg": "RS256", "kid": {"$ne": 1}}'):
        encoded = base64.urlsafe_b64encode(header).rstrip(b"=").decode()
        await _refused(rs256, f"{encoded}.{body}.c2ln")
