"""Client access tokens through the JWT adapter: claims, routing, and the two kinds kept apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from adapters.identity.jwt_tokens import JwtKeys, JwtTokenService
from application.errors import InvalidToken
from domain.clients import ClientId, Scope
from tests.unit.builders import a_user, session_of

SECRET = "a-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
CLIENT = ClientId("cli_aaaaaaaaaaaaaaaa")
BOTH = frozenset({Scope.USERS_READ, Scope.USERS_WRITE})


def a_service(clock: list[float] | None = None, issuer: str = "accounts") -> JwtTokenService:
    now = clock if clock is not None else [datetime.now(UTC).timestamp()]
    return JwtTokenService(
        JwtKeys("HS256", SECRET, SECRET),
        issuer=issuer,
        audience="accounts-api",
        access_token_ttl=timedelta(minutes=5),
        clock=lambda: now[0],
    )


async def test_a_client_token_carries_the_client_and_its_scopes_and_no_user_claims() -> None:
    service = a_service()
    now = datetime.now(UTC)

    token = (await service.issue_client_token(CLIENT, BOTH, now)).value

    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="accounts-api")
    assert claims["sub"] == claims["client_id"] == CLIENT
    assert claims["scope"] == "users:read users:write"
    assert {"iss", "aud", "exp", "iat", "jti"} <= set(claims)
    assert not {"role", "sid", "auth_time", "amr", "email_verified"} & set(claims)
    assert service.is_client_token(token)
    verified = service.verify_client_token(token)
    assert (verified.client_id, verified.scopes) == (CLIENT, BOTH)


async def test_a_client_token_is_never_a_users_and_the_reverse() -> None:
    service = a_service()
    now = datetime.now(UTC)
    user = a_user(now)
    users_token = (await service.issue_access_token(user, session_of(user, now), now)).value
    clients_token = (await service.issue_client_token(CLIENT, BOTH, now)).value

    assert not service.is_client_token(users_token)
    with pytest.raises(InvalidToken):
        service.verify_client_token(users_token)
    with pytest.raises(InvalidToken):
        service.verify_access_token(clients_token)


async def test_an_expired_client_token_is_refused_though_verified_before() -> None:
    clock = [datetime.now(UTC).timestamp()]
    service = a_service(clock)
    token = (await service.issue_client_token(CLIENT, BOTH, datetime.now(UTC))).value
    service.verify_client_token(token)

    clock[0] += 5 * 60 + 1

    with pytest.raises(InvalidToken, match="expired"):
        service.verify_client_token(token)


async def test_a_token_of_another_issuer_is_not_routed_to_the_client_verifier() -> None:
    other = a_service(issuer="https://idp.example")
    token = (await other.issue_client_token(CLIENT, BOTH, datetime.now(UTC))).value

    assert not a_service().is_client_token(token)
    with pytest.raises(InvalidToken):
        a_service().verify_client_token(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"scope": "users:read admin"},
        {"scope": ["users:read"]},
        {"client_id": "not-a-client"},
        {"sub": "cli_bbbbbbbbbbbbbbbb"},
        {"sid": "00000000-0000-0000-0000-000000000001"},
    ],
)
def test_malformed_client_claims_are_refused(changes: dict[str, object]) -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "accounts",
        "aud": "accounts-api",
        "sub": CLIENT,
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        "client_id": CLIENT,
        "scope": "users:read",
        **changes,
    }
    token = jwt.encode(claims, SECRET, algorithm="HS256", headers={"typ": "at+jwt"})

    with pytest.raises(InvalidToken):
        a_service().verify_client_token(token)
