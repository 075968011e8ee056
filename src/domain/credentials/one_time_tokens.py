"""One-time tokens sent by mail: an email verification, an email change, a password reset.

The token itself travels in a link and only its digest is stored. Each is bound to the address
it was mailed to, expires after its lifetime and works once; every failure is one error, so
an unknown, expired, spent or mismatched token cannot be told apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NewType
from uuid import UUID

from domain.credentials.secrets import SecretDigest
from domain.errors import InvalidLink
from domain.users import EmailAddress, User, UserId

OneTimeTokenId = NewType("OneTimeTokenId", UUID)

ONE_TIME_TOKEN_BYTES = 32
"""256 bits of randomness per token."""


class TokenPurpose(StrEnum):
    """What redeeming the token does."""

    VERIFY_EMAIL = "verify_email"
    EMAIL_CHANGE = "email_change"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a secret


@dataclass(eq=False, slots=True)
class OneTimeToken:
    """A mailed token for `purpose`, bound to `email` (the address it was sent to)."""

    id: OneTimeTokenId
    user_id: UserId
    purpose: TokenPurpose
    email: EmailAddress
    digest: SecretDigest = field(repr=False)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        user: User,
        purpose: TokenPurpose,
        *,
        token_id: OneTimeTokenId,
        digest: SecretDigest,
        now: datetime,
        lifetime: timedelta,
        email: EmailAddress | None = None,
    ) -> OneTimeToken:
        """A token for `user`, sent to `email` (by default the user's own address)."""
        return cls(
            id=token_id,
            user_id=user.id,
            purpose=purpose,
            email=email if email is not None else user.email,
            digest=digest,
            created_at=now,
            expires_at=now + lifetime,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OneTimeToken):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def check(self, purposes: frozenset[TokenPurpose], now: datetime) -> None:
        """Raise `InvalidLink` unless the token serves one of `purposes`, unspent and unexpired."""
        if self.purpose not in purposes or self.used_at is not None or now >= self.expires_at:
            raise InvalidLink("The link is invalid or has expired.")

    def check_for(self, user: User, purposes: frozenset[TokenPurpose], now: datetime) -> None:
        """Raise `InvalidLink` unless `user`, its active owner, may spend the token now.

        A verification or reset token also needs the user's address to be the one it was
        sent to: a link mailed to an address the account no longer has is void.
        """
        self.check(purposes, now)
        if user.id != self.user_id or not user.is_active:
            raise InvalidLink("The link is invalid or has expired.")
        if self.purpose is not TokenPurpose.EMAIL_CHANGE and user.email != self.email:
            raise InvalidLink("The link is invalid or has expired.")

    def redeem(self, user: User, purposes: frozenset[TokenPurpose], now: datetime) -> None:
        """Spend the token for `user` (see `check_for`)."""
        self.check_for(user, purposes, now)
        self.used_at = now
