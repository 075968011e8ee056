"""Refresh tokens: single-use, rotated on every refresh, all of one login session.

Each refresh spends the presented token and issues its successor in the same session; a spent
token presented again means that someone holds a copy, so the whole session is ended
(RFC 9700 §4.14): the thief and the victim both log in again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NewType
from uuid import UUID

from domain.credentials.secrets import SecretDigest
from domain.errors import RefreshTokenExpired, RefreshTokenReused
from domain.sessions import Session, SessionId
from domain.users import UserId

RefreshTokenId = NewType("RefreshTokenId", UUID)


@dataclass(eq=False, slots=True)
class RefreshToken:
    """One refresh token of a session, stored as its digest; compared by id."""

    id: RefreshTokenId
    session_id: SessionId
    user_id: UserId
    digest: SecretDigest = field(repr=False)
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        session: Session,
        *,
        token_id: RefreshTokenId,
        digest: SecretDigest,
        now: datetime,
        lifetime: timedelta,
    ) -> RefreshToken:
        """A new token of `session`, expiring at `now + lifetime` or with the session."""
        if not session.is_usable(now):
            raise RefreshTokenExpired("The session has ended.")
        return cls(
            id=token_id,
            session_id=session.id,
            user_id=session.user_id,
            digest=digest,
            issued_at=now,
            expires_at=min(now + lifetime, session.expires_at),
        )

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
        session: Session,
        *,
        successor_id: RefreshTokenId,
        successor_digest: SecretDigest,
        now: datetime,
        lifetime: timedelta,
    ) -> RefreshToken:
        """Spend this token and return its successor in the same session, which it touches.

        Raises `RefreshTokenReused` when it was spent before (the caller ends the session)
        and `RefreshTokenExpired` when it or its session is no longer usable.
        """
        if session.id != self.session_id:
            raise ValueError("The token does not belong to this session.")
        if self.used_at is not None:
            raise RefreshTokenReused("This refresh token was already used.")
        if now >= self.expires_at:
            raise RefreshTokenExpired("The refresh token has expired.")
        successor = RefreshToken.issue(
            session, token_id=successor_id, digest=successor_digest, now=now, lifetime=lifetime
        )
        self.used_at = now
        session.touch(now)
        return successor
