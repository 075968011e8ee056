"""Turn an access token into the principal that sent it."""

from __future__ import annotations

from application.errors import AccountDisabled, InvalidToken
from application.ports import TokenVerifier, UnitOfWorkFactory
from application.principal import AuthMethod, Principal


class ResolvePrincipal:
    """Verify the token, then read the account's current state: role and activity come from
    the database at every request, never from the token's claims."""

    def __init__(self, uow: UnitOfWorkFactory, verifier: TokenVerifier) -> None:
        self._uow = uow
        self._verifier = verifier

    async def execute(self, token: str) -> Principal:
        claims = self._verifier.verify_access_token(token)
        async with self._uow() as uow:
            user = await uow.users.get_by_id(claims.subject)
        if user is None:
            raise InvalidToken("The token's subject does not exist.")
        if not user.is_active:
            raise AccountDisabled("This account is deactivated.")
        return Principal(user=user, method=AuthMethod.BEARER)
