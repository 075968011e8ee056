"""The token service on managed keys: which key signs, which verify, what is published."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from adapters.identity.jwt_tokens import ConfiguredKeys, JwtKeys, JwtTokenService, ManagedKeys
from adapters.identity.key_pairs import CryptographyKeyPairGenerator, thumbprint
from adapters.identity.secret_box import AesGcmSecretBox
from application.errors import (
    InvalidToken,
    NoSigningKey,
    SecondFactorUnavailable,
    SigningKeysUnreadable,
)
from application.ports import UnsealedSigningKey
from domain.signing_keys import SigningKey
from tests.unit.builders import a_user, session_of

TTL = timedelta(minutes=5)
KEEP = TTL + timedelta(minutes=5)
NOW = (datetime.now(UTC) - timedelta(minutes=2)).replace(microsecond=0)
PAIRS = {alg: CryptographyKeyPairGenerator().generate(alg) for alg in ("ES256", "EdDSA")}
SECOND = CryptographyKeyPairGenerator().generate("ES256")


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


def unsealed(
    pair: Any,
    generation: int,
    signs_from: datetime,
    retired_at: datetime | None = None,
    algorithm: str = "ES256",
) -> UnsealedSigningKey:
    return UnsealedSigningKey(
        SigningKey(
            kid=pair.kid,
            generation=generation,
            algorithm=algorithm,
            public_jwk=pair.public_jwk,
            sealed_private_key=b"unused",
            created_at=signs_from - timedelta(minutes=5),
            signs_from=signs_from,
            retired_at=retired_at,
        ),
        pair.private_key,
    )


def service(keys: ManagedKeys | ConfiguredKeys, clock: Clock) -> JwtTokenService:
    return JwtTokenService(
        keys, issuer="accounts", audience="accounts-api", access_token_ttl=TTL, clock=clock
    )


async def issue(tokens: JwtTokenService, clock: Clock) -> str:
    now = datetime.fromtimestamp(clock.now, UTC)
    user = a_user(now)
    return (await tokens.issue_access_token(user, session_of(user, now), now)).value


def test_the_rfc_7638_example_thumbprint() -> None:
    # RFC 7638 §3.1.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
        "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65"
        "YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
        "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKg"
        "w",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


async def test_nothing_signs_before_keys_are_installed() -> None:
    with pytest.raises(NoSigningKey):
        await issue(service(ManagedKeys(KEEP), Clock()), Clock())


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
async def test_tokens_name_their_key_and_verify_against_the_published_jwks(algorithm: str) -> None:
    clock, keys = Clock(), ManagedKeys(KEEP)
    keys.install([unsealed(PAIRS[algorithm], 1, NOW, algorithm=algorithm)], NOW)
    tokens = service(keys, clock)

    token = await issue(tokens, clock)

    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "kid": PAIRS[algorithm].kid, "typ": "at+jwt"}
    published = json.loads(keys.jwks().body)
    assert published["keys"] == [
        {"kid": PAIRS[algorithm].kid, "alg": algorithm, "use": "sig", **PAIRS[algorithm].public_jwk}
    ]
    assert keys.jwks().etag.startswith('"')
    assert keys.jwks().etag.endswith('"')
    verifying = jwt.PyJWKSet.from_dict(published)[header["kid"]]
    assert jwt.decode(token, verifying, algorithms=[algorithm], audience="accounts-api")["iss"]
    assert tokens.verify_access_token(token).subject is not None


async def test_a_scheduled_key_signs_on_time_without_a_reload() -> None:
    clock, keys = Clock(), ManagedKeys(KEEP)
    later = NOW + timedelta(minutes=1)
    keys.install([unsealed(PAIRS["ES256"], 1, NOW, later), unsealed(SECOND, 2, later)], NOW)
    tokens = service(keys, clock)

    before = await issue(tokens, clock)
    clock.now = later.timestamp()
    after = await issue(tokens, clock)

    assert jwt.get_unverified_header(before)["kid"] == PAIRS["ES256"].kid
    assert jwt.get_unverified_header(after)["kid"] == SECOND.kid
    tokens.verify_access_token(before)  # the retired key still verifies what it signed
    tokens.verify_access_token(after)


async def test_a_key_no_longer_published_verifies_nothing_even_after_a_cached_success() -> None:
    clock, keys = Clock(), ManagedKeys(KEEP)
    keys.install([unsealed(PAIRS["ES256"], 1, NOW)], NOW)
    tokens = service(keys, clock)
    token = await issue(tokens, clock)
    tokens.verify_access_token(token)

    # Rotated at once, then the old key's publication ended (and the refresher reinstalled).
    keys.install([unsealed(PAIRS["ES256"], 1, NOW, NOW), unsealed(SECOND, 2, NOW)], NOW + KEEP)

    with pytest.raises(InvalidToken, match="key this service does not know"):
        tokens.verify_access_token(token)
    assert [k["kid"] for k in json.loads(keys.jwks().body)["keys"]] == [SECOND.kid]


async def test_a_token_without_kid_or_with_another_algorithm_is_refused() -> None:
    clock, keys = Clock(), ManagedKeys(KEEP)
    keys.install([unsealed(PAIRS["ES256"], 1, NOW)], NOW)
    tokens = service(keys, clock)
    claims = jwt.decode(await issue(tokens, clock), options={"verify_signature": False})
    hmac_with_public_key = jwt.encode(
        claims, "x" * 40, algorithm="HS256", headers={"kid": PAIRS["ES256"].kid, "typ": "at+jwt"}
    )
    no_kid = jwt.encode(
        claims, PAIRS["ES256"].private_key, algorithm="ES256", headers={"typ": "at+jwt"}
    )

    for forged in (hmac_with_public_key, no_kid):
        with pytest.raises(InvalidToken):
            tokens.verify_access_token(forged)


async def test_hs256_publishes_nothing_and_a_fixed_pair_its_thumbprint() -> None:
    secret = "a-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    assert json.loads(ConfiguredKeys(JwtKeys("HS256", secret, secret)).jwks().body) == {"keys": []}

    pair = PAIRS["EdDSA"]
    public_pem = jwt.PyJWK(dict(pair.public_jwk), "EdDSA").key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fixed = ConfiguredKeys(JwtKeys("EdDSA", pair.private_key, public_pem))
    clock = Clock()
    token = await issue(service(fixed, clock), clock)

    assert jwt.get_unverified_header(token)["kid"] == pair.kid
    assert [k["kid"] for k in json.loads(fixed.jwks().body)["keys"]] == [pair.kid]


def test_signing_keys_are_sealed_under_a_key_of_their_own() -> None:
    kek = "a-key-encryption-key-of-enough-length-0123456789"
    signing, totp = AesGcmSecretBox.for_signing_keys(lambda: kek), AesGcmSecretBox(lambda: kek)
    sealed = signing.seal(b"private key")

    assert signing.open(sealed) == b"private key"
    with pytest.raises(SecondFactorUnavailable):
        totp.open(sealed)
    with pytest.raises(SigningKeysUnreadable, match="ACCOUNTS_KEY_ENCRYPTION_KEY"):
        AesGcmSecretBox.for_signing_keys(lambda: kek + "x").open(sealed)
    with pytest.raises(SigningKeysUnreadable, match="ACCOUNTS_KEY_ENCRYPTION_KEY"):
        AesGcmSecretBox.for_signing_keys(lambda: None).seal(b"private key")
