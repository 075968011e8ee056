"""The MFA login challenge: a password proved, waiting for the second factor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NewType
from uuid import UUID

from domain.credentials import SecretDigest
from domain.users import UserId

MfaChallengeId = NewType("MfaChallengeId", UUID)

MFA_CHALLENGE_LIFETIME = timedelta(minutes=5)


@dataclass(eq=False, slots=True)
class MfaChallenge:
    """What an `mfa_token` stands for; stored by the digest of the token only.

    It works once for a success: wrong codes leave it usable until it expires.
    """

    id: MfaChallengeId
    user_id: UserId
    digest: SecretDigest
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        challenge_id: MfaChallengeId,
        user_id: UserId,
        digest: SecretDigest,
        now: datetime,
        lifetime: timedelta = MFA_CHALLENGE_LIFETIME,
    ) -> MfaChallenge:
        return cls(challenge_id, user_id, digest, now, now + lifetime)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MfaChallenge):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def is_usable(self, now: datetime) -> bool:
        """Not used yet and not expired."""
        return self.used_at is None and now < self.expires_at

    def spend(self, now: datetime) -> None:
        """Mark it used by a successful login."""
        if not self.is_usable(now):
            raise ValueError("An MFA challenge is used once, before it expires.")
        self.used_at = now
