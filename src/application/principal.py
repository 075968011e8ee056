"""Who is calling: the authenticated user as the database sees them now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from application.errors import Forbidden, ReauthenticationRequired
from domain.sessions import SessionId
from domain.users import User


class AuthMethod(StrEnum):
    """How the principal proved who it is."""

    BEARER = "bearer"
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated, active user and the credential it used.

    `api_key_id` names the key for API-key principals; `session_id` the login session a
    bearer token was issued for and `auth_time` when that login proved a credential (both
    None for tokens of an external identity provider).
    """

    user: User
    method: AuthMethod = AuthMethod.BEARER
    api_key_id: UUID | None = None
    session_id: SessionId | None = None
    auth_time: datetime | None = None

    def ensure_bearer(self) -> None:
        """Raise `Forbidden` for API keys: credentials are managed with a login's token only.

        A leaked key must not be able to mint more keys or change the owner's password.
        """
        if self.method is not AuthMethod.BEARER:
            raise Forbidden("Credentials can only be managed with a bearer token, not an API key.")

    def ensure_recent_login(self, max_age: timedelta, now: datetime) -> None:
        """Raise `ReauthenticationRequired` unless a credential was proved within `max_age`.

        Step-up for destructive operations (RFC 9470): a stolen, refreshed token is not enough.
        """
        if self.auth_time is None or now - self.auth_time > max_age:
            raise ReauthenticationRequired(
                "This operation needs a recent login: sign in again, then retry.",
                max_age=int(max_age.total_seconds()),
            )

    def ensure_admin(self) -> None:
        """Raise `Forbidden` unless the principal is an admin right now."""
        if not self.user.is_admin:
            raise Forbidden("This operation needs the admin role.")
