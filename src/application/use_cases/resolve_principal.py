"""Turn a bearer access token into the principal that sent it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from application.errors import AccountDisabled, InvalidToken
from application.external_accounts import ExternalAccounts
from application.ports import ExternalTokenVerifier, PrincipalReader, TokenVerifier
from application.principal import AuthMethod, Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.sessions import SessionId
from domain.users import User


class ResolvePrincipal:
    """Verify the token, then read the account's current state: role and activity come from
    the database at every request, never from the token's claims.

    A token of ours names its login session (`sid`): when that session was ended (logout,
    password change, deactivation, refresh-token reuse, the user or an admin ending it) or
    deleted with its account, the token stops working at once. A
    token whose issuer is the configured external provider goes to that provider's verifier,
    and its subject to the local account linked to it. The account and its session are read
    together, in one round trip and without a transaction: this runs on every request.
    """

    def __init__(
        self,
        reader: PrincipalReader,
        verifier: TokenVerifier,
        external: ExternalTokenVerifier | None = None,
        external_accounts: ExternalAccounts | None = None,
    ) -> None:
        self._reader = reader
        self._verifier = verifier
        self._external = external
        self._external_accounts = external_accounts

    async def execute(
        self, token: str, context_of: Callable[[], RequestContext] = lambda: NO_REQUEST
    ) -> Principal:
        """`context_of` gives the request's context; it is asked only by a first external
        login, which records the client, so the hot path never builds one."""
        if self._external is not None and self._external.claims_issuer(token):
            return await self._external_principal(token, context_of())
        claims = self._verifier.verify_access_token(token)
        session_id = SessionId(claims.session_id) if claims.session_id is not None else None
        user, session_open = await self._reader.user_with_open_session(claims.subject, session_id)
        if user is None:
            raise InvalidToken("The token's subject does not exist.")
        if not user.is_active:
            # Deactivation revokes the sessions too; the account's state is the truer answer.
            raise AccountDisabled("This account is deactivated.")
        if session_id is not None and not session_open:
            raise InvalidToken("The token's session has ended.")
        return _principal(user, session_id=session_id, auth_time=claims.auth_time)

    async def _external_principal(self, token: str, context: RequestContext) -> Principal:
        if self._external is None or self._external_accounts is None:
            raise InvalidToken("External tokens are not accepted.")
        identity = await self._external.verify(token)
        user = await self._external_accounts.user_for(identity, context)
        return _principal(user, session_id=None, auth_time=None)


def _principal(
    user: User, *, session_id: SessionId | None, auth_time: datetime | None
) -> Principal:
    if not user.is_active:
        raise AccountDisabled("This account is deactivated.")
    return Principal(
        user=user, method=AuthMethod.BEARER, session_id=session_id, auth_time=auth_time
    )
