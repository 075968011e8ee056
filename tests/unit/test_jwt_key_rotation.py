"""Signing-key rotation by `kid`: pure HS256 crypto and settings checks, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from adapters.identity.jwt_tokens import JwtKeys, JwtTokenService
from application.errors import InvalidToken
from entrypoints.settings import Settings
from tests.unit.builders import a_user, session_of

OLD = "old-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
NEW = "new-secret-9876543210-zyxwvutsrqponmlkjihgfedcba"
NOW = datetime.now(UTC)


def service(secret: str, kid: str | None, previous: dict[str, str | bytes] | None = None) -> Any:
    keys = JwtKeys("HS256", secret, secret, key_id=kid, previous_keys=previous or {})
    return JwtTokenService(
        keys, issuer="accounts", audience="accounts-api", access_token_ttl=timedelta(minutes=5)
    )


async def token(signer: JwtTokenService) -> str:
    user = a_user(NOW)
    return (await signer.issue_access_token(user, session_of(user, NOW), NOW)).value


async def test_issued_tokens_name_the_current_key() -> None:
    assert jwt.get_unverified_header(await token(service(NEW, "k2")))["kid"] == "k2"


async def test_during_a_rotation_tokens_of_the_previous_key_still_verify() -> None:
    old_token = await token(service(OLD, "k1"))
    rotating = service(NEW, "k2", {"k1": OLD})

    assert rotating.verify_access_token(old_token).subject
    assert rotating.verify_access_token(await token(rotating)).subject


async def test_once_the_previous_key_is_removed_its_tokens_are_refused() -> None:
    old_token = await token(service(OLD, "k1"))

    with pytest.raises(InvalidToken, match="key this service does not know"):
        service(NEW, "k2").verify_access_token(old_token)


async def test_the_kid_selects_the_key_so_a_wrong_pairing_fails() -> None:
    """A token signed with the new secret but claiming the old kid is checked with the old key."""
    forged = jwt.encode(
        jwt.decode(await token(service(NEW, "k2")), options={"verify_signature": False}),
        NEW,
        algorithm="HS256",
        headers={"typ": "at+jwt", "kid": "k1"},
    )

    with pytest.raises(InvalidToken, match="signature"):
        service(NEW, "k2", {"k1": OLD}).verify_access_token(forged)


async def test_a_token_without_kid_is_checked_with_the_current_key_only() -> None:
    no_kid_old = await token(service(OLD, None))
    rotating = service(NEW, "k2", {"k1": OLD})

    assert service(OLD, "k1").verify_access_token(no_kid_old).subject
    with pytest.raises(InvalidToken, match="signature"):
        rotating.verify_access_token(no_kid_old)


def test_previous_keys_need_distinct_ids() -> None:
    with pytest.raises(ValueError, match="key id"):
        JwtKeys("HS256", NEW, NEW, key_id=None, previous_keys={"k1": OLD})
    with pytest.raises(ValueError, match="share"):
        JwtKeys("HS256", NEW, NEW, key_id="k1", previous_keys={"k1": OLD})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"jwt_previous_secret": OLD}, "JWT_PREVIOUS_KEY_ID must name"),
        ({"jwt_previous_key_id": "k1", "jwt_previous_secret": OLD}, "JWT_KEY_ID must be set"),
        (
            {"jwt_key_id": "k1", "jwt_previous_key_id": "k1", "jwt_previous_secret": OLD},
            "must differ",
        ),
        ({"jwt_key_id": "k2", "jwt_previous_key_id": "k1"}, "PREVIOUS_SECRET must be set"),
        (
            {"jwt_key_id": "k2", "jwt_previous_key_id": "k1", "jwt_previous_secret": "short"},
            "PREVIOUS_SECRET must be a strong",
        ),
        (
            {
                "env": "production",
                "public_url": "https://id.example.com",
                "jwt_key_id": "k2",
                "jwt_previous_key_id": "k1",
                "jwt_previous_secret": "a" * 40,
            },
            "PREVIOUS_SECRET must be a strong",
        ),
    ],
)
def test_settings_refuse_an_inconsistent_or_weak_previous_key(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(jwt_algorithm="HS256", jwt_secret=NEW, **settings)


def test_settings_accept_a_rotation() -> None:
    settings = Settings(
        env="production",
        public_url="https://id.example.com",
        mail_url="smtp://mail.example.com:587",
        jwt_algorithm="HS256",
        jwt_secret=NEW,
        jwt_key_id="k2",
        jwt_previous_key_id="k1",
        jwt_previous_secret=OLD,
    )
    assert settings.tokens.previous_key_id == "k1"
