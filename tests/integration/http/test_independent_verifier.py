"""A second JOSE library (joserfc, which shares no code with PyJWT) verifies our tokens from our
discovery document and JWKS alone: the metadata and keys are standard, not self-consistent."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from tests.integration.http.conftest import BASE_URL, AppFactory
from tests.integration.http.test_discovery import asymmetric_api
from tests.jwks_server import SigningKey


@pytest.mark.parametrize("key", [SigningKey.rsa("x"), SigningKey.ec("x")], ids=["RS256", "ES256"])
async def test_joserfc_verifies_our_token_from_discovery(
    api_factory: AppFactory, tmp_path: Path, key: SigningKey
) -> None:
    api = await asymmetric_api(api_factory, tmp_path, key)
    user_id, headers = await api.user("ada@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")

    metadata = (await api.client.get("/.well-known/oauth-authorization-server")).json()
    jwks = (await api.client.get(urlsplit(metadata["jwks_uri"]).path)).json()
    key_set = KeySet.import_key_set(jwks)
    [published] = key_set.keys
    decoded = jwt.decode(token, key_set, algorithms=[published.alg])
    JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": "accounts-api"},
        sub={"essential": True, "value": user_id},
        exp={"essential": True},
    ).validate(decoded.claims)

    assert decoded.header["typ"] == "at+jwt"
    assert metadata["issuer"] == BASE_URL
    # Without ACCOUNTS_JWT_KEY_ID the kid is the key's RFC 7638 thumbprint, as joserfc computes it.
    assert decoded.header["kid"] == published.kid == published.thumbprint()


async def test_joserfc_refuses_a_token_altered_after_signing(
    api_factory: AppFactory, tmp_path: Path
) -> None:
    api = await asymmetric_api(api_factory, tmp_path, SigningKey.rsa("x"))
    _, headers = await api.user("ada@example.com")
    header, payload, signature = headers["Authorization"].removeprefix("Bearer ").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    altered = base64.urlsafe_b64encode(json.dumps({**claims, "role": "admin"}).encode())
    jwks = (await api.client.get("/.well-known/jwks.json")).json()

    with pytest.raises(BadSignatureError):
        jwt.decode(
            f"{header}.{altered.rstrip(b'=').decode()}.{signature}",
            KeySet.import_key_set(jwks),
            ["RS256"],
        )
