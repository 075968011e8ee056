"""Login sessions: the access and refresh tokens a grant hands out, and how they rotate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from application.audit import AuditEvents
from application.ports import AccessToken, IdGenerator, SecretGenerator, TokenIssuer, UnitOfWork
from application.request_context import RequestContext
from domain.audit import ActorId
from domain.credentials import RefreshToken, RefreshTokenId, SecretDigest
from domain.sessions import PASSWORD_AMR, Session, SessionId
from domain.users import User, UserId

REFRESH_TOKEN_BYTES = 32
"""256 bits from the operating system's CSPRNG: nothing to guess, so a SHA-256 is enough."""

MAX_REFRESH_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """What a successful grant returns to the client."""

    access_token: AccessToken
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewRefreshToken:
    """A token to store (`record`) and the secret to hand out once (`secret`)."""

    record: RefreshToken
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SessionIssuer:
    """Makes the records of a new session and of each rotation; the caller stores them."""

    tokens: TokenIssuer
    secrets: SecretGenerator
    ids: IdGenerator
    refresh_token_lifetime: timedelta
    session_lifetime: timedelta

    def start(
        self,
        user: User,
        now: datetime,
        context: RequestContext,
        amr: tuple[str, ...] = PASSWORD_AMR,
    ) -> tuple[Session, NewRefreshToken]:
        """A new session for `user`, from the client `context` names, and its first token."""
        session = Session.start(
            session_id=SessionId(self.ids.new_id()),
            user_id=user.id,
            now=now,
            lifetime=self.session_lifetime,
            amr=amr,
            client_ip=context.client_ip,
            user_agent=context.user_agent,
        )
        secret = self.secrets.token(REFRESH_TOKEN_BYTES)
        record = RefreshToken.issue(
            session,
            token_id=RefreshTokenId(self.ids.new_id()),
            digest=SecretDigest.of(secret),
            now=now,
            lifetime=self.refresh_token_lifetime,
        )
        return session, NewRefreshToken(record=record, secret=secret)

    def rotate(self, token: RefreshToken, session: Session, now: datetime) -> NewRefreshToken:
        """Spend `token` and make its successor (see `RefreshToken.rotate` for the errors)."""
        secret = self.secrets.token(REFRESH_TOKEN_BYTES)
        record = token.rotate(
            session,
            successor_id=RefreshTokenId(self.ids.new_id()),
            successor_digest=SecretDigest.of(secret),
            now=now,
            lifetime=self.refresh_token_lifetime,
        )
        return NewRefreshToken(record=record, secret=secret)

    async def tokens_for(
        self, user: User, session: Session, new: NewRefreshToken, now: datetime
    ) -> IssuedTokens:
        """The pair the client receives: an access token of `session`, and `new`."""
        access = await self.tokens.issue_access_token(user, session, now)
        return IssuedTokens(
            access_token=access, refresh_token=new.secret, refresh_expires_at=new.record.expires_at
        )


async def end_sessions(
    uow: UnitOfWork,
    events: AuditEvents,
    context: RequestContext,
    now: datetime,
    user_id: UserId,
    *,
    actor_id: ActorId,
    reason: str,
    keep: SessionId | None = None,
) -> int:
    """End every session of `user_id` but `keep`, with one `session.ended` event for them all
    when any ended; how many ended."""
    ended = await uow.sessions.end_all_of(user_id, now, keep=keep)
    if ended:
        await uow.audit.record(
            events.sessions_ended(
                context, now, user_id, actor_id=actor_id, reason=reason, count=ended
            )
        )
    return ended
