"""Access tokens of an external identity provider, end to end over HTTP.

The provider is `tests.jwks_server`: keys generated here, a JWKS document served on loopback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import providers

from adapters.identity.external_tokens import JwksTokenVerifier
from tests.integration.http.conftest import Api, AppFactory, assert_problem, bearer
from tests.jwks_server import JwksServer, SigningKey, forge, sign

ISSUER = "https://idp.example.test/"
AUDIENCE = "accounts-api"


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture
def key(provider: JwksServer) -> SigningKey:
    signing_key = SigningKey.rsa("rsa-1")
    provider.publish(signing_key)
    return signing_key


@pytest.fixture
async def api(api_factory: AppFactory, provider: JwksServer) -> Api:
    return await api_factory(
        external_jwks_url=provider.url,
        external_issuer=ISSUER,
        external_audience=AUDIENCE,
        external_roles_claim="realm_access.roles",
    )


def claims(subject: str = "idp-user-1", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "exp": now + 300,
        "email": f"{subject}@idp.example.test",
        "email_verified": True,
        "name": "Grace Hopper",
        **extra,
    }


async def test_first_sight_provisions_a_local_account_and_later_reuses_it(
    api: Api, key: SigningKey
) -> None:
    token = sign(claims(), key)

    first = await api.client.get("/api/v1/users/me", headers=bearer(token))
    second = await api.client.get("/api/v1/users/me", headers=bearer(token))

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["email"] == "idp-user-1@idp.example.test"
    assert body["full_name"] == "Grace Hopper"
    assert body["role"] == "user"
    assert second.json()["id"] == body["id"]
    # The provisioned account has no password: the password grant cannot reach it.
    login = await api.token("idp-user-1@idp.example.test", "any-password-at-all-123")
    assert login.status_code == 400


async def test_the_roles_claim_makes_an_admin_on_provisioning(api: Api, key: SigningKey) -> None:
    token = sign(claims("boss", realm_access={"roles": ["admin", "offline"]}), key)

    me = await api.client.get("/api/v1/users/me", headers=bearer(token))
    listing = await api.client.get("/api/v1/users", headers=bearer(token))

    assert me.json()["role"] == "admin"
    assert listing.status_code == 200


async def test_es256_tokens_are_accepted(api: Api, provider: JwksServer) -> None:
    ec_key = SigningKey.ec("ec-1")
    provider.publish(ec_key)

    me = await api.client.get("/api/v1/users/me", headers=bearer(sign(claims(), ec_key)))

    assert me.status_code == 200, me.text


async def test_key_rotation_at_the_provider(
    api_factory: AppFactory, provider: JwksServer, key: SigningKey
) -> None:
    # The service refetches on an unknown kid at most every 30 s; here at once, to see it.
    verifier = JwksTokenVerifier(
        jwks_url=provider.url,
        issuer=ISSUER,
        audience=AUDIENCE,
        min_refetch_interval_seconds=0.001,
    )
    api = await api_factory(
        overrides={"external_tokens": providers.Object(verifier)},
        external_jwks_url=provider.url,
        external_issuer=ISSUER,
        external_audience=AUDIENCE,
    )
    assert (
        await api.client.get("/api/v1/users/me", headers=bearer(sign(claims(), key)))
    ).is_success
    new_key = SigningKey.rsa("rsa-2")
    provider.publish(key, new_key)

    # An unknown kid makes the service fetch the key set once more, and the new key is there.
    rotated = await api.client.get("/api/v1/users/me", headers=bearer(sign(claims(), new_key)))

    assert rotated.status_code == 200, rotated.text
    # The old key, withdrawn, stops working once the set is fetched again.
    provider.publish(new_key)
    await api.client.get("/api/v1/users/me", headers=bearer(sign(claims(), SigningKey.rsa("x"))))
    old = await api.client.get("/api/v1/users/me", headers=bearer(sign(claims(), key)))
    assert_problem(old, 401, "invalid_token")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda k: sign(claims(), SigningKey.rsa("rsa-1")), id="wrong-key-same-kid"),
        pytest.param(lambda k: sign(claims(), SigningKey.rsa("nobody")), id="unknown-kid"),
        pytest.param(
            lambda k: forge({"alg": "HS256", "typ": "JWT", "kid": k.kid}, claims(), k.public_pem()),
            id="hs256-with-the-public-key",
        ),
        pytest.param(lambda k: forge({"alg": "none", "kid": k.kid}, claims(), None), id="alg-none"),
        pytest.param(lambda k: sign(claims(exp=int(time.time()) - 600), k), id="expired"),
        pytest.param(lambda k: sign(claims(aud="someone-else"), k), id="wrong-audience"),
        pytest.param(lambda k: sign(claims(email_verified=False), k), id="unverified-email"),
        pytest.param(lambda k: sign(claims(email=None), k), id="no-email"),
        pytest.param(lambda k: sign(claims(exp=10**20), k), id="exp-beyond-any-date"),
        pytest.param(lambda k: sign(claims(iat=-(10**20)), k), id="iat-before-any-date"),
        pytest.param(lambda k: sign(claims(exp=1e300), k), id="exp-a-huge-float"),
        pytest.param(lambda k: sign(claims(exp=float("inf")), k), id="exp-infinite"),
        pytest.param(lambda k: sign(claims(exp=str(int(time.time()) + 300)), k), id="exp-a-string"),
        pytest.param(lambda k: sign(claims(iat=True), k), id="iat-a-boolean"),
    ],
)
async def test_bad_provider_tokens_are_invalid_token(api: Api, key: SigningKey, forge: Any) -> None:
    response = await api.client.get("/api/v1/users/me", headers=bearer(forge(key)))

    assert_problem(response, 401, "invalid_token")


async def test_an_email_of_a_local_account_is_not_taken_over(api: Api, key: SigningKey) -> None:
    await api.register("victim@example.com")
    token = sign(claims("attacker", email="victim@example.com"), key)

    response = await api.client.get("/api/v1/users/me", headers=bearer(token))

    assert_problem(response, 401, "invalid_token")


async def test_an_unreachable_provider_is_invalid_token_not_an_error(
    api: Api, provider: JwksServer, key: SigningKey
) -> None:
    provider.down()

    response = await api.client.get("/api/v1/users/me", headers=bearer(sign(claims(), key)))

    assert_problem(response, 401, "invalid_token")


async def test_our_own_tokens_still_work_beside_the_provider(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    response = await api.client.get("/api/v1/users/me", headers=headers)

    assert response.status_code == 200


async def test_deactivating_a_provisioned_account_locks_it_out(api: Api, key: SigningKey) -> None:
    token = sign(claims(), key)
    user_id = (await api.client.get("/api/v1/users/me", headers=bearer(token))).json()["id"]
    _, admin = await api.admin()

    await api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin)

    assert_problem(
        await api.client.get("/api/v1/users/me", headers=bearer(token)), 403, "account_disabled"
    )
