"""JwksTokenVerifier against a real HTTP JWKS endpoint on the loopback interface."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from adapters.identity.external_tokens import JwksTokenVerifier
from application.errors import InvalidToken
from tests.jwks_server import JwksServer, SigningKey, forge, sign

ISSUER = "https://idp.example.test/realms/main"
AUDIENCE = "accounts-api"
TIMEOUT = 1.0
# Short enough to keep the suite quick, long enough for a busy CI runner to act within it.
INTERVAL = 0.5
PAST_INTERVAL = INTERVAL + 0.05


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.rsa("rsa-1")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.ec("ec-1")


def verifier_for(provider: JwksServer, **options: Any) -> JwksTokenVerifier:
    settings: dict[str, Any] = {
        "jwks_url": provider.url,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "timeout_seconds": TIMEOUT,
    } | options
    return JwksTokenVerifier(**settings)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "iat": now,
        "exp": now + 300,
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
    } | overrides


async def refused(verifier: JwksTokenVerifier, token: str) -> str:
    """The InvalidToken message the verifier answers `token` with."""
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return str(caught.value)


@pytest.mark.parametrize("key_name", ["rsa_key", "ec_key"])
async def test_a_token_signed_with_a_published_key_gives_its_identity(
    provider: JwksServer, key_name: str, request: pytest.FixtureRequest
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    provider.publish(key)

    identity = await verifier_for(provider).verify(sign(claims(), key))

    assert identity.issuer == ISSUER
    assert identity.subject == "user-42"
    assert identity.email == "ada@example.com"
    assert identity.email_verified is True
    assert identity.name == "Ada Lovelace"
    assert identity.roles == frozenset()


async def test_profile_claims_of_the_wrong_type_are_left_out(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    token = sign(claims(email=["a@example.com"], email_verified="true", name=7), rsa_key)

    identity = await verifier_for(provider).verify(token)

    assert (identity.email, identity.email_verified, identity.name) == (None, None, None)


async def test_an_audience_list_naming_this_service_is_accepted(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    token = sign(claims(aud=["account", AUDIENCE]), rsa_key)

    assert (await verifier_for(provider).verify(token)).subject == "user-42"


@pytest.mark.parametrize(
    ("roles_claim", "extra_claims", "roles"),
    [
        ("roles", {"roles": ["admin", "auditor"]}, {"admin", "auditor"}),
        ("realm_access.roles", {"realm_access": {"roles": ["admin", "user"]}}, {"admin", "user"}),
        ("groups", {"groups": "admin user,auditor"}, {"admin", "user", "auditor"}),
        (
            "https://accounts.example/roles",
            {"https://accounts.example/roles": ["admin"]},
            {"admin"},
        ),
        ("roles", {"roles": ["admin", 7, None, ""]}, {"admin"}),
        ("realm_access.roles", {"realm_access": ["admin"]}, set()),
        ("roles", {}, set()),
        (None, {"roles": ["admin"]}, set()),
    ],
)
async def test_roles_come_from_the_configured_claim(
    provider: JwksServer,
    rsa_key: SigningKey,
    roles_claim: str | None,
    extra_claims: dict[str, object],
    roles: set[str],
) -> None:
    provider.publish(rsa_key)
    verifier = verifier_for(provider, roles_claim=roles_claim)

    identity = await verifier.verify(sign(claims(**extra_claims), rsa_key))

    assert identity.roles == frozenset(roles)


async def test_keys_are_fetched_once_and_cached(provider: JwksServer, rsa_key: SigningKey) -> None:
    provider.publish(rsa_key)
    verifier = verifier_for(provider)

    for _ in range(5):
        await verifier.verify(sign(claims(), rsa_key))

    assert provider.requests == 1


async def test_a_rotated_key_is_fetched_and_a_removed_one_refused(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    old_token = sign(claims(), rsa_key)
    provider.publish(rsa_key)
    verifier = verifier_for(provider, min_refetch_interval_seconds=0)
    await verifier.verify(old_token)
    new_key = SigningKey.ec("ec-2026")
    provider.publish(new_key)

    identity = await verifier.verify(sign(claims(sub="after-rotation"), new_key))

    assert identity.subject == "after-rotation"
    assert provider.requests == 2
    assert "key" in await refused(verifier, old_token)
    assert provider.requests == 3


async def test_an_unknown_kid_is_refetched_once_then_refused(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    verifier = verifier_for(provider, min_refetch_interval_seconds=INTERVAL)
    await verifier.verify(sign(claims(), rsa_key))
    await asyncio.sleep(PAST_INTERVAL)

    await refused(verifier, sign(claims(), rsa_key, kid="nobody-knows-me"))

    assert provider.requests == 2


async def test_a_flood_of_random_kids_costs_one_fetch_per_interval(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    verifier = verifier_for(provider, min_refetch_interval_seconds=INTERVAL)
    # Signed up front, so each flood takes milliseconds, well inside one interval.
    floods = [[sign(claims(), rsa_key, kid=uuid.uuid4().hex) for _ in range(30)] for _ in range(3)]
    await verifier.verify(sign(claims(), rsa_key))

    async def flood(tokens: list[str]) -> None:
        outcomes = await asyncio.gather(
            *(verifier.verify(token) for token in tokens), return_exceptions=True
        )
        assert all(isinstance(outcome, InvalidToken) for outcome in outcomes)
        for token in tokens:
            await refused(verifier, token)

    await flood(floods[0])
    assert provider.requests == 1  # the first fetch was less than an interval ago
    await asyncio.sleep(PAST_INTERVAL)
    await flood(floods[1])
    assert provider.requests == 2
    await asyncio.sleep(PAST_INTERVAL)
    await flood(floods[2])
    assert provider.requests == 3


async def test_concurrent_verifications_share_one_fetch(
    provider: JwksServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    provider.publish(rsa_key, ec_key)
    provider.slow(0.2)
    verifier = verifier_for(provider)
    tokens = [sign(claims(sub=f"user-{n}"), rsa_key if n % 2 else ec_key) for n in range(20)]

    identities = await asyncio.gather(*(verifier.verify(token) for token in tokens))

    assert [identity.subject for identity in identities] == [f"user-{n}" for n in range(20)]
    assert provider.requests == 1


@pytest.mark.parametrize("secret", ["pem", "shared"])
async def test_an_hmac_token_in_the_providers_name_is_refused(
    provider: JwksServer, rsa_key: SigningKey, secret: str
) -> None:
    provider.publish(rsa_key)
    # The classic algorithm confusion: the public key, which anyone can download, as HMAC secret.
    key = rsa_key.public_pem() if secret == "pem" else b"a-secret-the-attacker-chose-123456"
    token = forge({"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}, claims(), key)

    assert "algorithm" in await refused(verifier_for(provider), token)
    assert provider.requests == 0


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_an_unsigned_token_is_refused(
    provider: JwksServer, rsa_key: SigningKey, alg: str
) -> None:
    provider.publish(rsa_key)
    token = forge({"alg": alg, "kid": rsa_key.kid}, claims(), None)

    assert "algorithm" in await refused(verifier_for(provider), token)


async def test_a_token_whose_algorithm_does_not_fit_its_key_is_refused(
    provider: JwksServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    provider.publish(rsa_key, ec_key)
    # Signed by the EC key but naming the RSA key's kid, and the other way round.
    verifier = verifier_for(provider)

    await refused(verifier, sign(claims(), ec_key, kid=rsa_key.kid))
    await refused(verifier, sign(claims(), rsa_key, kid=ec_key.kid))


async def test_a_token_signed_by_another_key_with_a_known_kid_is_refused(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    impostor = SigningKey.rsa(rsa_key.kid)

    assert "signature" in await refused(verifier_for(provider), sign(claims(), impostor))


async def test_a_token_without_kid_is_verified_only_against_a_single_key(
    provider: JwksServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    token = sign(claims(), rsa_key, with_kid=False)
    provider.publish(rsa_key)
    assert (await verifier_for(provider).verify(token)).subject == "user-42"

    provider.publish(rsa_key, ec_key)
    await refused(verifier_for(provider), token)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"aud": "someone-else"}, "not meant for this service"),
        ({"aud": ["someone-else", "another"]}, "not meant for this service"),
        ({"iss": "https://evil.example.test"}, "issued by someone else"),
        ({"iat": int(time.time()) + 3600}, "not valid yet"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"sub": None}, "lacks a required claim"),
        ({"sub": ""}, "lacks a required claim"),
        ({"iat": None}, "lacks a required claim"),
        ({"exp": None}, "lacks a required claim"),
        ({"sub": 42}, "malformed"),
    ],
)
async def test_a_token_failing_a_claim_check_is_refused(
    provider: JwksServer, rsa_key: SigningKey, overrides: dict[str, object], reason: str
) -> None:
    provider.publish(rsa_key)
    payload = {name: value for name, value in claims(**overrides).items() if value is not None}

    assert reason in await refused(verifier_for(provider), sign(payload, rsa_key))


async def test_a_little_clock_skew_is_tolerated(provider: JwksServer, rsa_key: SigningKey) -> None:
    provider.publish(rsa_key)
    now = int(time.time())
    token = sign(claims(iat=now + 10, exp=now - 10), rsa_key)

    assert (await verifier_for(provider).verify(token)).subject == "user-42"


@pytest.mark.parametrize(
    "unusable",
    [
        {"use": "enc"},
        {"alg": "RS512"},
        {"alg": "HS256"},
        {"key_ops": ["encrypt"]},
    ],
)
async def test_keys_not_meant_for_rs256_signatures_are_ignored(
    provider: JwksServer, rsa_key: SigningKey, ec_key: SigningKey, unusable: dict[str, object]
) -> None:
    provider.publish(rsa_key.jwk(**unusable), ec_key)
    verifier = verifier_for(provider)

    assert "key" in await refused(verifier, sign(claims(), rsa_key))
    assert (await verifier.verify(sign(claims(), ec_key))).subject == "user-42"


async def test_short_rsa_keys_and_symmetric_keys_are_ignored(
    provider: JwksServer, ec_key: SigningKey
) -> None:
    weak = SigningKey.rsa("weak", bits=1024)
    secret = {
        "kty": "oct",
        "kid": "oct-1",
        "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
        "use": "sig",
    }
    p384 = {"kty": "EC", "crv": "P-384", "kid": "p384"}
    provider.publish_document({"keys": [weak.jwk(), secret, p384, "junk", ec_key.jwk()]})
    verifier = verifier_for(provider)

    with pytest.warns(jwt.InsecureKeyLengthWarning):
        weak_token = sign(claims(), weak)
    await refused(verifier, weak_token)
    assert (await verifier.verify(sign(claims(), ec_key))).subject == "user-42"


async def test_an_unavailable_provider_means_an_invalid_token(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    provider.down(503)

    assert "unavailable" in await refused(verifier_for(provider), sign(claims(), rsa_key))


async def test_a_closed_port_means_an_invalid_token(rsa_key: SigningKey) -> None:
    provider = JwksServer().start()
    verifier = verifier_for(provider)
    provider.stop()

    assert "unavailable" in await refused(verifier, sign(claims(), rsa_key))


async def test_a_slow_provider_is_given_up_on_within_the_timeout(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    provider.slow(5)
    verifier = verifier_for(provider)
    started = time.monotonic()

    outcomes = await asyncio.gather(
        *(verifier.verify(sign(claims(), rsa_key)) for _ in range(5)), return_exceptions=True
    )

    assert time.monotonic() - started < TIMEOUT + 0.5
    assert all(isinstance(outcome, InvalidToken) for outcome in outcomes)
    assert provider.requests == 1


@pytest.mark.parametrize(
    "document", [None, [], "keys", {"keys": "rsa-1"}, {"keys": {"kid": "rsa-1"}}, {}]
)
async def test_a_response_that_is_not_a_key_set_means_an_invalid_token(
    provider: JwksServer, rsa_key: SigningKey, document: object
) -> None:
    provider.publish_document(document)

    await refused(verifier_for(provider), sign(claims(), rsa_key))


async def test_malformed_json_means_an_invalid_token(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    provider.malformed()

    assert "unavailable" in await refused(verifier_for(provider), sign(claims(), rsa_key))


async def test_the_verifier_recovers_when_the_provider_comes_back(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    provider.down()
    verifier = verifier_for(provider, min_refetch_interval_seconds=INTERVAL)
    token = sign(claims(), rsa_key)
    await refused(verifier, token)
    provider.up()

    await refused(verifier, token)  # failures are retried no more than once an interval
    assert provider.requests == 1
    await asyncio.sleep(PAST_INTERVAL)
    assert (await verifier.verify(token)).subject == "user-42"
    assert provider.requests == 2


async def test_cached_keys_outlive_an_outage_of_the_provider(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    provider.publish(rsa_key)
    verifier = verifier_for(provider, cache_seconds=0.1, min_refetch_interval_seconds=INTERVAL)
    token = sign(claims(), rsa_key)
    await verifier.verify(token)
    provider.down()
    await asyncio.sleep(0.15)

    for _ in range(5):
        assert (await verifier.verify(token)).subject == "user-42"

    assert provider.requests == 2  # one failed refresh, then a pause before the next try


async def test_expired_keys_are_refreshed(provider: JwksServer, rsa_key: SigningKey) -> None:
    provider.publish(rsa_key)
    verifier = verifier_for(provider, cache_seconds=0.1)
    token = sign(claims(), rsa_key)
    await verifier.verify(token)
    provider.publish(SigningKey.rsa("rsa-2"))
    await asyncio.sleep(0.15)

    await refused(verifier, token)
    assert provider.requests == 2


async def test_garbage_is_an_invalid_token_without_a_fetch(provider: JwksServer) -> None:
    verifier = verifier_for(provider)

    for token in ["", "garbage", "a.b.c", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"]:
        await refused(verifier, token)

    assert provider.requests == 0


def test_claims_issuer_peeks_at_the_issuer_without_verifying(
    provider: JwksServer, rsa_key: SigningKey
) -> None:
    verifier = verifier_for(provider)
    unknown_key = SigningKey.ec("never-published")

    assert verifier.claims_issuer(sign(claims(), unknown_key)) is True
    assert verifier.claims_issuer(sign(claims(iss="https://other.example"), rsa_key)) is False
    assert verifier.claims_issuer(sign({"sub": "no-issuer"}, rsa_key)) is False
    not_a_string = forge({"alg": "RS256"}, claims(iss=[ISSUER]), b"irrelevant")
    assert verifier.claims_issuer(not_a_string) is False
    for garbage in ["", "garbage", "a.b.c", "e30", "e30.bm90IGpzb24.", "\u00e9.\u00e9.\u00e9"]:
        assert verifier.claims_issuer(garbage) is False
    assert provider.requests == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://idp.example/jwks", "not a url"])
def test_only_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        JwksTokenVerifier(jwks_url=url, issuer=ISSUER, audience=AUDIENCE)
