"""Discovery (RFC 8414) and the JWKS (RFC 7517): what a resource server reads, cacheable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.integration.http.conftest import BASE_URL, Api, AppFactory
from tests.jwks_server import SigningKey

METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
JWKS_PATH = "/.well-known/jwks.json"
PUBLISHED = (*METADATA_PATHS, JWKS_PATH)


async def asymmetric_api(
    api_factory: AppFactory, directory: Path, key: SigningKey, **settings: Any
) -> Api:
    private_file, public_file = key.write_pem_pair(directory)
    return await api_factory(
        jwt_algorithm=key.algorithm,
        jwt_secret=None,
        jwt_private_key_file=private_file,
        jwt_public_key_file=public_file,
        **settings,
    )


async def test_the_metadata_names_our_endpoints_and_promises_only_what_we_do(api: Api) -> None:
    responses = [await api.client.get(path) for path in METADATA_PATHS]

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].content == responses[1].content
    assert responses[0].headers["content-type"] == "application/json"
    metadata = responses[0].json()
    assert metadata["issuer"] == BASE_URL
    assert metadata["token_endpoint"] == f"{BASE_URL}/api/v1/auth/token"
    assert metadata["jwks_uri"] == f"{BASE_URL}{JWKS_PATH}"
    assert metadata["revocation_endpoint"] == f"{BASE_URL}/api/v1/auth/revoke"
    assert metadata["introspection_endpoint"] == f"{BASE_URL}/api/v1/auth/introspect"
    assert metadata["grant_types_supported"] == [
        "password",
        "refresh_token",
        "client_credentials",
        "urn:accounts:params:oauth:grant-type:mfa",
    ]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert metadata["scopes_supported"] == ["users:read", "users:write"]
    assert metadata["response_types_supported"] == []
    assert {"iss", "aud", "sub", "exp", "role", "scope", "client_id"} <= set(
        metadata["claims_supported"]
    )
    # No authorization endpoint and no ID tokens: nothing promises them.
    assert "authorization_endpoint" not in metadata
    assert "id_token_signing_alg_values_supported" not in metadata


async def test_the_issuer_is_every_tokens_iss(api_factory: AppFactory) -> None:
    api = await api_factory(jwt_issuer="https://id.example.com")
    _, headers = await api.user("ada@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")

    metadata = (await api.client.get(METADATA_PATHS[0])).json()

    assert jwt.decode(token, options={"verify_signature": False})["iss"] == metadata["issuer"]
    assert metadata["issuer"] == "https://id.example.com"
    assert (await api.client.get("/api/v1/users/me", headers=headers)).status_code == 200


async def test_a_shared_secret_publishes_no_key(api_factory: AppFactory) -> None:
    api = await api_factory(jwt_algorithm="HS256")
    response = await api.client.get(JWKS_PATH)

    assert response.status_code == 200
    assert response.json() == {"keys": []}


@pytest.mark.parametrize(
    ("key", "kty"),
    [(SigningKey.rsa("x"), "RSA"), (SigningKey.ec("x"), "EC")],
    ids=["RS256", "ES256"],
)
async def test_the_jwks_verifies_our_tokens_and_names_the_key_they_carry(
    api_factory: AppFactory, tmp_path: Path, key: SigningKey, kty: str
) -> None:
    api = await asymmetric_api(api_factory, tmp_path, key)
    _, headers = await api.user("ada@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")

    jwks = (await api.client.get(JWKS_PATH)).json()

    [published] = jwks["keys"]
    assert published["kty"] == kty
    assert (published["use"], published["alg"]) == ("sig", key.algorithm)
    assert "d" not in published
    assert jwt.get_unverified_header(token)["kid"] == published["kid"]
    verifying = jwt.PyJWK(published)
    claims = jwt.decode(
        token,
        verifying,
        algorithms=[published["alg"]],
        audience="accounts-api",
        issuer=BASE_URL,
    )
    assert claims["iss"] == BASE_URL


async def test_a_configured_key_id_and_the_previous_key_are_published(
    api_factory: AppFactory, tmp_path: Path
) -> None:
    previous = SigningKey.rsa("old")
    (tmp_path / "previous").mkdir()
    _, previous_public = previous.write_pem_pair(tmp_path / "previous")
    api = await asymmetric_api(
        api_factory,
        tmp_path,
        SigningKey.rsa("x"),
        jwt_key_id="key-2",
        jwt_previous_key_id="key-1",
        jwt_previous_public_key_file=previous_public,
    )
    _, headers = await api.user("ada@example.com")

    jwks = (await api.client.get(JWKS_PATH)).json()

    assert [k["kid"] for k in jwks["keys"]] == ["key-2", "key-1"]
    token = headers["Authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token)["kid"] == "key-2"


@pytest.mark.parametrize("path", PUBLISHED)
async def test_published_documents_are_cacheable_and_revalidate_with_304(
    api_factory: AppFactory, path: str
) -> None:
    api = await api_factory(jwks_max_age_seconds=120)
    first = await api.client.get(path)
    etag = first.headers["etag"]

    assert first.headers["cache-control"] == "public, max-age=120"
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong: no W/ prefix
    for matching in (etag, f"W/{etag}", "*", f'"stale", {etag}', f'"a",W/{etag} , "b"'):
        revalidated = await api.client.get(path, headers={"If-None-Match": matching})
        assert revalidated.status_code == 304, matching
        assert revalidated.content == b""
        assert revalidated.headers["etag"] == etag
        assert revalidated.headers["cache-control"] == "public, max-age=120"
    for other in ('"stale"', etag.strip('"'), f'"x{etag[1:]}'):
        response = await api.client.get(path, headers={"If-None-Match": other})
        assert response.status_code == 200, other
        assert response.content == first.content
    again = await api.client.get(path)
    assert (again.content, again.headers["etag"]) == (first.content, etag)


@pytest.mark.parametrize("path", PUBLISHED)
async def test_head_gives_the_headers_without_the_body(api: Api, path: str) -> None:
    full = await api.client.get(path)

    head = await api.client.head(path)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == full.headers["etag"]
    assert head.headers["content-length"] == str(len(full.content))
    assert head.headers["cache-control"] == full.headers["cache-control"]
    matched = await api.client.head(path, headers={"If-None-Match": full.headers["etag"]})
    assert matched.status_code == 304


async def test_discovery_is_not_rate_limited(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_anonymous="2/minute")

    responses = [await api.client.get(path) for path in PUBLISHED * 3]

    assert {r.status_code for r in responses} == {200}
    assert not any("ratelimit" in r.headers for r in responses)
    assert (await api.client.get("/api/v1/users/me")).status_code == 401


async def test_other_methods_are_refused_as_problems(api: Api) -> None:
    response = await api.client.post(JWKS_PATH)

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


async def test_a_token_issued_here_carries_the_key_a_restart_keeps(
    api_factory: AppFactory, tmp_path: Path
) -> None:
    key = SigningKey.rsa("x")
    first = await asymmetric_api(api_factory, tmp_path, key)
    second = await asymmetric_api(api_factory, tmp_path, key)
    _, headers = await first.user("ada@example.com")

    same = await second.client.get("/api/v1/users/me", headers=headers)

    assert same.status_code == 200
    first_jwks = await first.client.get(JWKS_PATH)
    second_jwks = await second.client.get(JWKS_PATH)
    assert first_jwks.headers["etag"] == second_jwks.headers["etag"]
