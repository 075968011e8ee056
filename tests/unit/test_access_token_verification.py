"""Access-token verification remembers good tokens per worker, never their expiry or failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.identity.jwt_tokens import JwtKeys, JwtTokenService
from application.errors import InvalidToken
from tests.unit.builders import a_user, session_of

SECRET = "a-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
TTL = timedelta(minutes=5)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def a_service(clock: Clock) -> JwtTokenService:
    return JwtTokenService(
        JwtKeys("HS256", SECRET, SECRET),
        issuer="accounts",
        audience="accounts-api",
        access_token_ttl=TTL,
        clock=clock,
    )


async def a_token(service: JwtTokenService) -> str:
    now = datetime.now(UTC)
    user = a_user(now)
    return (await service.issue_access_token(user, session_of(user, now), now)).value


async def test_a_token_verified_before_is_refused_once_it_expires() -> None:
    clock = Clock()
    service = a_service(clock)
    token = await a_token(service)
    expires_at = service.verify_access_token(token).expires_at

    clock.now = expires_at.timestamp() - 1
    assert service.verify_access_token(token).expires_at == expires_at
    clock.now = expires_at.timestamp()
    with pytest.raises(InvalidToken, match="expired"):
        service.verify_access_token(token)


async def test_a_forged_signature_on_a_verified_token_is_refused() -> None:
    service = a_service(Clock())
    token = await a_token(service)
    service.verify_access_token(token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    with pytest.raises(InvalidToken, match="signature"):
        service.verify_access_token(forged)
    assert service.verify_access_token(token).subject


async def test_tokens_of_another_service_stay_refused_however_often_they_are_sent() -> None:
    service = a_service(Clock())
    other = JwtTokenService(
        JwtKeys("HS256", SECRET[::-1], SECRET[::-1]),
        issuer="accounts",
        audience="accounts-api",
        access_token_ttl=TTL,
    )
    token = await a_token(other)

    for _ in range(3):
        with pytest.raises(InvalidToken, match="signature"):
            service.verify_access_token(token)


async def test_a_token_names_its_session_login_time_and_methods() -> None:
    service = a_service(Clock())
    now = datetime.now(UTC)
    user = a_user(now)
    session = session_of(user, now - timedelta(minutes=3, microseconds=1), amr=("pwd", "otp"))

    claims = service.verify_access_token(
        (await service.issue_access_token(user, session, now)).value
    )

    assert claims.session_id == session.id
    assert claims.auth_time == session.auth_time.replace(microsecond=0)
    assert claims.amr == ("pwd", "otp")
    assert claims.issued_at == now.replace(microsecond=0)
