"""The example resource server's verifier against a loopback JWKS: its key cache, its refetch on
a new `kid` (a rotation), its limit on refetches, and its cache of verified tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
from examples.resource_server.auth import AccessTokenVerifier, InvalidAccessToken, SigningKeys

from tests.jwks_server import JwksServer, SigningKey

ISSUER = "https://id.example.test"
AUDIENCE = "accounts-api"


class Clock:
    """Starts at the real time (PyJWT checks `exp` and `iat` against it), then moves by hand."""

    def __init__(self) -> None:
        self.start = self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


def _verifier(provider: JwksServer, clock: Clock, **options: float) -> AccessTokenVerifier:
    keys = SigningKeys(provider.url, clock=clock, **options)
    return AccessTokenVerifier(ISSUER, AUDIENCE, keys, clock=clock)


def _token(
    key: SigningKey,
    clock: Clock,
    kid: str | None = None,
    alg: str | None = None,
    **claims: object,
) -> str:
    return jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u1",
            "iat": int(clock.start),
            "exp": int(clock.start) + 300,
            **claims,
        },
        key.private_key,
        algorithm=alg or key.algorithm,
        headers={"typ": "at+jwt", "kid": kid or key.kid},
    )


async def test_a_rotated_in_key_is_fetched_once_and_made_up_kids_do_not_refetch(
    provider: JwksServer,
) -> None:
    old, new = SigningKey.rsa("old"), SigningKey.rsa("new")
    provider.publish(old)
    clock = Clock()
    verifier = _verifier(provider, clock, refetch_interval=10)
    assert (await verifier.verify(_token(old, clock))).subject == "u1"
    assert provider.requests == 1

    provider.publish(old, new)
    clock.now += 11
    assert (await verifier.verify(_token(new, clock, sub="u2"))).subject == "u2"
    assert provider.requests == 2

    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        with pytest.raises(InvalidAccessToken):
            await verifier.verify(_token(new, clock, kid=kid))
    assert provider.requests == 2


async def test_the_key_set_is_fetched_again_after_its_max_age(provider: JwksServer) -> None:
    key = SigningKey.rsa("k")
    provider.publish(key)
    clock = Clock()
    verifier = _verifier(provider, clock, max_age=300)
    await verifier.verify(_token(key, clock))

    clock.now += 299
    await verifier.verify(_token(key, clock, sub="u2"))
    assert provider.requests == 1
    clock.now += 2
    await verifier.verify(_token(key, clock, sub="u3", exp=int(clock.start) + 900))
    assert provider.requests == 2


async def test_a_remembered_token_still_expires(provider: JwksServer) -> None:
    key = SigningKey.rsa("k")
    provider.publish(key)
    clock = Clock()
    verifier = _verifier(provider, clock)
    token = _token(key, clock)
    await verifier.verify(token)

    clock.now = clock.start + 300

    with pytest.raises(InvalidAccessToken, match="expired"):
        await verifier.verify(token)


async def test_the_algorithm_is_the_keys_never_the_tokens(provider: JwksServer) -> None:
    key = SigningKey.rsa("k")
    provider.publish(key)
    clock = Clock()
    verifier = _verifier(provider, clock)
    assert (await verifier.verify(_token(key, clock))).subject == "u1"

    with pytest.raises(InvalidAccessToken):
        await verifier.verify(_token(key, clock, alg="PS256", sub="u2"))
