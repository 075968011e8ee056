"""One-time tokens: single use, a lifetime, bound to their purpose, owner and address."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain.credentials import OneTimeToken, OneTimeTokenId, SecretDigest, TokenPurpose
from domain.errors import InvalidLink
from domain.users import EmailAddress, User
from tests.fakes import DEFAULT_NOW
from tests.unit.builders import a_user

VERIFY = frozenset({TokenPurpose.VERIFY_EMAIL, TokenPurpose.EMAIL_CHANGE})
RESET = frozenset({TokenPurpose.PASSWORD_RESET})


def a_token(user: User, purpose: TokenPurpose = TokenPurpose.PASSWORD_RESET) -> OneTimeToken:
    return OneTimeToken.issue(
        user,
        purpose,
        token_id=OneTimeTokenId(UUID(int=7)),
        digest=SecretDigest.of("secret"),
        now=DEFAULT_NOW,
        lifetime=timedelta(minutes=30),
    )


def test_a_token_works_once() -> None:
    user = a_user(DEFAULT_NOW)
    token = a_token(user)
    token.redeem(user, RESET, DEFAULT_NOW)
    assert token.used_at == DEFAULT_NOW
    with pytest.raises(InvalidLink):
        token.redeem(user, RESET, DEFAULT_NOW)


def test_a_token_expires_after_its_lifetime() -> None:
    user = a_user(DEFAULT_NOW)
    token = a_token(user)
    with pytest.raises(InvalidLink):
        token.redeem(user, RESET, DEFAULT_NOW + timedelta(minutes=30))
    token.redeem(user, RESET, DEFAULT_NOW + timedelta(minutes=29, seconds=59))


def test_a_token_serves_only_its_purpose() -> None:
    user = a_user(DEFAULT_NOW)
    with pytest.raises(InvalidLink):
        a_token(user, TokenPurpose.PASSWORD_RESET).redeem(user, VERIFY, DEFAULT_NOW)
    with pytest.raises(InvalidLink):
        a_token(user, TokenPurpose.VERIFY_EMAIL).redeem(user, RESET, DEFAULT_NOW)


def test_a_link_sent_to_an_address_the_account_no_longer_has_is_void() -> None:
    user = a_user(DEFAULT_NOW)
    verify, reset = a_token(user, TokenPurpose.VERIFY_EMAIL), a_token(user)
    user.change_email(EmailAddress("new@example.com"), DEFAULT_NOW)
    with pytest.raises(InvalidLink):
        verify.redeem(user, VERIFY, DEFAULT_NOW)
    with pytest.raises(InvalidLink):
        reset.redeem(user, RESET, DEFAULT_NOW)


def test_an_email_change_token_carries_the_new_address() -> None:
    user = a_user(DEFAULT_NOW)
    token = OneTimeToken.issue(
        user,
        TokenPurpose.EMAIL_CHANGE,
        token_id=OneTimeTokenId(UUID(int=8)),
        digest=SecretDigest.of("other"),
        now=DEFAULT_NOW,
        lifetime=timedelta(days=1),
        email=EmailAddress("new@example.com"),
    )
    token.redeem(user, VERIFY, DEFAULT_NOW)
    assert token.email == EmailAddress("new@example.com")


def test_an_inactive_account_cannot_use_its_links() -> None:
    user = a_user(DEFAULT_NOW)
    token = a_token(user)
    user.deactivate(DEFAULT_NOW)
    with pytest.raises(InvalidLink):
        token.redeem(user, RESET, DEFAULT_NOW)

    stranger = a_user(DEFAULT_NOW)
    with pytest.raises(InvalidLink):
        a_token(user).redeem(stranger, RESET, DEFAULT_NOW)


def test_changing_the_email_verifies_the_new_address() -> None:
    user = a_user(DEFAULT_NOW)
    assert not user.email_verified
    user.change_email(EmailAddress("new@example.com"), DEFAULT_NOW + timedelta(seconds=1))
    assert user.email_verified
    assert user.updated_at == DEFAULT_NOW + timedelta(seconds=1)
