"""Read the caller's own account."""

from __future__ import annotations

from application.principal import Principal
from domain.users import User


class GetOwnProfile:
    """The principal's account as read at this request; no second round trip."""

    async def execute(self, principal: Principal) -> User:
        return principal.user
