"""The login session: one credential proof, carried forward by its refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NewType
from uuid import UUID

from domain.users import UserId

SessionId = NewType("SessionId", UUID)

PASSWORD_AMR: tuple[str, ...] = ("pwd",)
"""RFC 8176 methods of a password login."""

MAX_USER_AGENT_LENGTH = 256
"""Longer `User-Agent` values are cut: enough to recognise a browser, bounded storage."""

MAX_CLIENT_IP_LENGTH = 45
"""The longest textual IPv6 address (with an embedded IPv4 part)."""


@dataclass(eq=False, slots=True)
class Session:
    """One login session of a user; compared by id.

    It starts at a credential grant, which fixes `auth_time` and `amr` for its whole life:
    refreshing proves possession of a token, not the credential again. `expires_at` is
    absolute; `ended_at` is set when the user, an admin or a security rule ends it.
    """

    id: SessionId
    user_id: UserId
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    auth_time: datetime
    amr: tuple[str, ...]
    client_ip: str | None = None
    user_agent: str | None = None
    ended_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.amr or any(not method or " " in method for method in self.amr):
            raise ValueError("A session needs at least one authentication method, without spaces.")
        if self.client_ip is not None and len(self.client_ip) > MAX_CLIENT_IP_LENGTH:
            raise ValueError("A client address is at most 45 characters long.")
        if self.user_agent is not None:
            self.user_agent = self.user_agent[:MAX_USER_AGENT_LENGTH] or None

    @classmethod
    def start(
        cls,
        *,
        session_id: SessionId,
        user_id: UserId,
        now: datetime,
        lifetime: timedelta,
        amr: tuple[str, ...] = PASSWORD_AMR,
        client_ip: str | None = None,
        user_agent: str | None = None,
    ) -> Session:
        """A session for a credential the user proved `now`."""
        return cls(
            id=session_id,
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            expires_at=now + lifetime,
            auth_time=now,
            amr=amr,
            client_ip=client_ip,
            user_agent=user_agent,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Session):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def is_ended(self) -> bool:
        return self.ended_at is not None

    def is_usable(self, now: datetime) -> bool:
        """Not ended and not past its absolute expiry."""
        return self.ended_at is None and now < self.expires_at

    def belongs_to(self, user_id: UserId) -> bool:
        return self.user_id == user_id

    def end(self, now: datetime) -> None:
        """End the session; ending twice keeps the first time."""
        if self.ended_at is None:
            self.ended_at = now

    def touch(self, now: datetime) -> None:
        """Record a use (a refresh); time never runs backwards here."""
        self.last_used_at = max(self.last_used_at, now)
