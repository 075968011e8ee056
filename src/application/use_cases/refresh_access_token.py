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
    """A spent refresh token came back: its session was ended (worth a security log line)."""


class RefreshAccessToken:
    """Spend a refresh token and return a new access and refresh token of the same session.

    The user, the token and the session are locked in that order (account deletion locks the
    user first too, and the purge tokens before sessions, so none of them deadlock with it;
    the user's lock is the weak one that only keeps the row from being deleted): of two concurrent
    refreshes of one token exactly one rotates it; the other then finds it spent, which is
    what a stolen copy looks like, and ends the session (RFC 9700 §4.14). A session ended
    while the refresh waited for its lock is found ended: the refresh loses. Every failure is
    the same `InvalidCredentials` (`invalid_grant`), so the answer never tells which check
    failed.
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
        digest = SecretDigest.of(presented)
        async with self._uow() as uow:
            found = await uow.refresh_tokens.get_by_digest(digest)
            if found is None:
                raise InvalidCredentials("The refresh token is invalid or expired.")
            user = await uow.users.get_by_id(found.user_id, for_share=True)
            token = await uow.refresh_tokens.get_by_digest(digest, for_update=True)
            session = await uow.sessions.get(found.session_id, for_update=True)
            if token is None or session is None or user is None or not user.is_active:
                raise InvalidCredentials("The refresh token is invalid or expired.")
            try:
                successor = self._sessions.rotate(token, session, now)
            except RefreshTokenReused:
                session.end(now)
                await uow.sessions.update(session)
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.SESSION_REUSE_DETECTED,
                        command.context,
                        now,
                        subject_id=user.id,
                        details={"session_id": str(session.id)},
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
            await uow.sessions.update(session)
            await uow.commit()
        return await self._sessions.tokens_for(user, session, successor, now)
