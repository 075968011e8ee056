"""Who is calling: the authenticated user as the database sees them now."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from application.errors import Forbidden
from domain.users import User


class AuthMethod(StrEnum):
    """How the principal proved who it is."""

    BEARER = "bearer"
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated, active user and the credential it used."""

    user: User
    method: AuthMethod = AuthMethod.BEARER

    def ensure_admin(self) -> None:
        """Raise `Forbidden` unless the principal is an admin right now."""
        if not self.user.is_admin:
            raise Forbidden("This operation needs the admin role.")
