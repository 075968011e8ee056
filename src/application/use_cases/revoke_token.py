"""RFC 7009 token revocation: end the login session a token belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from application.errors import InvalidToken
from application.ports import Clock, TokenVerifier, UnitOfWorkFactory
from application.sessions import MAX_REFRESH_TOKEN_LENGTH
from domain.credentials import SecretDigest
from domain.sessions import SessionId


class TokenTypeHint(StrEnum):
    ACCESS_TOKEN = "access_token"  # noqa: S105 - RFC 7009 vocabulary, not a secret
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - RFC 7009 vocabulary, not a secret


@dataclass(frozen=True, slots=True)
class RevokeTokenCommand:
    token: str = field(repr=False)
    hint: TokenTypeHint | None = None


class RevokeToken:
    """End the login session of a refresh token or of an access token (its `sid`).

    Revoking either one logs that session out: its refresh tokens stop refreshing and its
    access tokens fail at the next request. Unknown, expired or foreign tokens are ignored
    without a word, as RFC 7009 §2.2 asks; the hint only decides which lookup comes first.
    """

    def __init__(self, uow: UnitOfWorkFactory, verifier: TokenVerifier, clock: Clock) -> None:
        self._uow = uow
        self._verifier = verifier
        self._clock = clock

    async def execute(self, command: RevokeTokenCommand) -> None:
        token = command.token
        if not token or len(token) > 8 * MAX_REFRESH_TOKEN_LENGTH:
            return
        lookups = [self._session_of_refresh_token, self._session_of_access_token]
        if command.hint is TokenTypeHint.ACCESS_TOKEN:
            lookups.reverse()
        for lookup in lookups:
            session_id = await lookup(token)
            if session_id is not None:
                await self._end(session_id)
                return

    async def _session_of_refresh_token(self, token: str) -> SessionId | None:
        if len(token) > MAX_REFRESH_TOKEN_LENGTH:
            return None
        async with self._uow() as uow:
            stored = await uow.refresh_tokens.get_by_digest(SecretDigest.of(token))
        return stored.session_id if stored is not None else None

    async def _session_of_access_token(self, token: str) -> SessionId | None:
        try:
            claims = self._verifier.verify_access_token(token)
        except InvalidToken:
            return None
        return SessionId(claims.session_id) if claims.session_id else None

    async def _end(self, session_id: SessionId) -> None:
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id, for_update=True)
            if session is None or session.is_ended:
                return
            session.end(self._clock.now())
            await uow.sessions.update(session)
            await uow.commit()
