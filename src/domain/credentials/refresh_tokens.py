"""Refresh tokens: single-use, rotated on every refresh, grouped in a family per login.

A family is one login session. Each refresh spends the presented token and issues its
successor in the same family; a spent token presented again means that someone holds a copy,
so the whole family is revoked (RFC 9700 §4.14): the thief and the victim both log in again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NewType
from uuid import UUID

from domain.credentials.secrets import SecretDigest
from domain.errors import RefreshTokenExpired, RefreshTokenReused
from domain.users import UserId

RefreshTokenFamilyId = NewType("RefreshTokenFamilyId", UUID)
RefreshTokenId = NewType("RefreshTokenId", UUID)


@dataclass(eq=False, slots=True)
class RefreshTokenFamily:
    """One login session: every token rotated from one password grant; compared by id.

    `expires_at` is absolute: rotation never carries a session past it.
    """

    id: RefreshTokenFamilyId
    user_id: UserId
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    @classmethod
    def start(
        cls,
        *,
        family_id: RefreshTokenFamilyId,
        user_id: UserId,
        now: datetime,
        lifetime: timedelta,
    ) -> RefreshTokenFamily:
        return cls(id=family_id, user_id=user_id, created_at=now, expires_at=now + lifetime)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RefreshTokenFamily):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def revoke(self, now: datetime) -> None:
        """End the session; revoking twice keeps the first time."""
        if self.revoked_at is None:
            self.revoked_at = now

    def issue(
        self,
        *,
        token_id: RefreshTokenId,
        digest: SecretDigest,
        now: datetime,
        lifetime: timedelta,
    ) -> RefreshToken:
        """A new token of this session, expiring at `now + lifetime` or with the session."""
        if not self.is_usable(now):
            raise RefreshTokenExpired("The session has ended.")
        return RefreshToken(
            id=token_id,
            family_id=self.id,
            user_id=self.user_id,
            digest=digest,
            issued_at=now,
            expires_at=min(now + lifetime, self.expires_at),
        )


@dataclass(eq=False, slots=True)
class RefreshToken:
    """One refresh token, stored as its digest; compared by id."""

    id: RefreshTokenId
    family_id: RefreshTokenFamilyId
    user_id: UserId
    digest: SecretDigest = field(repr=False)
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RefreshToken):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    def rotate(
        self,
        family: RefreshTokenFamily,
        *,
        successor_id: RefreshTokenId,
        successor_digest: SecretDigest,
        now: datetime,
        lifetime: timedelta,
    ) -> RefreshToken:
        """Spend this token and return its successor in the same session.

        Raises `RefreshTokenReused` when it was spent before (the caller revokes the family)
        and `RefreshTokenExpired` when it or its session is no longer usable.
        """
        if family.id != self.family_id:
            raise ValueError("The token does not belong to this family.")
        if self.used_at is not None:
            raise RefreshTokenReused("This refresh token was already used.")
        if now >= self.expires_at:
            raise RefreshTokenExpired("The refresh token has expired.")
        successor = family.issue(
            token_id=successor_id, digest=successor_digest, now=now, lifetime=lifetime
        )
        self.used_at = now
        return successor
