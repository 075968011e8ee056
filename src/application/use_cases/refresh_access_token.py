"""The OAuth2 refresh-token grant: rotate the refresh token, issue a new pair."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.errors import InvalidCredentials
from application.ports import Clock, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import MAX_REFRESH_TOKEN_LENGTH, IssuedTokens, SessionIssuer
from domain.audit import AuditEventType
from domain.credentials import SecretDigest
from domain.errors import RefreshTokenExpired, RefreshTokenReused


@dataclass(frozen=True, slots=True)
class RefreshGrantCommand:
    refresh_token: str = field(repr=False)
    context: RequestContext = NO_REQUEST


class RefreshTokenReuseDetected(InvalidCredentials):
    """A spent refresh token came back: its session was revoked (worth a security log line)."""


class RefreshAccessToken:
    """Spend a refresh token and return a new access and refresh token of the same session.

    The token and its session are locked for the transaction, so of two concurrent refreshes
    of one token exactly one rotates it; the other then finds it spent, which is what a stolen
    copy looks like, and revokes the session (RFC 9700 §4.14). Every failure is the same
    `InvalidCredentials` (`invalid_grant`), so the answer never tells which check failed.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, sessions: SessionIssuer, clock: Clock, events: AuditEvents
    ) -> None:
        self._uow = uow
        self._sessions = sessions
        self._clock = clock
        self._events = events

    async def execute(self, command: RefreshGrantCommand) -> IssuedTokens:
        presented = command.refresh_token
        if not presented or len(presented) > MAX_REFRESH_TOKEN_LENGTH:
            raise InvalidCredentials("The refresh token is invalid or expired.")
        now = self._clock.now()
        async with self._uow() as uow:
            token = await uow.refresh_tokens.get_by_digest(
                SecretDigest.of(presented), for_update=True
            )
            if token is None:
                raise InvalidCredentials("The refresh token is invalid or expired.")
            family = await uow.refresh_tokens.get_family(token.family_id, for_update=True)
            user = await uow.users.get_by_id(token.user_id)
            if family is None or user is None or not user.is_active:
                raise InvalidCredentials("The refresh token is invalid or expired.")
            try:
                successor = self._sessions.rotate(token, family, now)
            except RefreshTokenReused:
                family.revoke(now)
                await uow.refresh_tokens.update_family(family)
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.SESSION_REUSE_DETECTED,
                        command.context,
                        now,
                        subject_id=user.id,
                        details={"session_id": str(family.id)},
                    )
                )
                await uow.commit()
                raise RefreshTokenReuseDetected(
                    "The refresh token is invalid or expired."
                ) from None
            except RefreshTokenExpired:
                raise InvalidCredentials("The refresh token is invalid or expired.") from None
            await uow.refresh_tokens.update(token)
            await uow.refresh_tokens.add(successor.record)
            await uow.commit()
        return self._sessions.tokens_for(user, successor, now)
