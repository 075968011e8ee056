"""The MFA grant: an `mfa_token` from the password grant and a one-time code, tokens out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from application.audit import AuditEvents
from application.errors import InvalidCredentials
from application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from application.second_factor import SecondFactorCodes
from application.sessions import IssuedTokens, SessionIssuer
from domain.audit import AuditEventType
from domain.credentials import SecretDigest
from domain.mfa import OTP_AMR, MfaChallenge, is_totp_code
from domain.users import UserId

MAX_MFA_TOKEN_LENGTH = 512

_INVALID_TOKEN = "The mfa_token is invalid, expired or used already."  # noqa: S105 - a message


@dataclass(frozen=True, slots=True)
class MfaGrantCommand:
    mfa_token: str = field(repr=False)
    otp: str = field(repr=False)
    context: RequestContext = NO_REQUEST


async def _usable_challenge(
    uow: UnitOfWork, mfa_token: str, now: datetime, *, for_update: bool = False
) -> MfaChallenge:
    if len(mfa_token) > MAX_MFA_TOKEN_LENGTH:
        raise InvalidCredentials(_INVALID_TOKEN)
    digest = SecretDigest.of(mfa_token)
    challenge = await uow.mfa_challenges.get_by_digest(digest, for_update=for_update)
    if challenge is None or not challenge.is_usable(now):
        raise InvalidCredentials(_INVALID_TOKEN)
    return challenge


class FindMfaChallenge:
    """The account an `mfa_token` stands for, so its second-factor limit can be spent before
    any code is checked; `InvalidCredentials` when the token is unknown, expired or used."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, mfa_token: str) -> UserId:
        async with self._uow() as uow:
            challenge = await _usable_challenge(uow, mfa_token, self._clock.now())
        return challenge.user_id


class CompleteMfaLogin:
    """Check the code against the challenge's account and start a session with `amr`
    `["pwd", "otp"]`; every failure is `InvalidCredentials` (RFC 6749 `invalid_grant`).

    The challenge and the factor are locked, so of two requests with one code (or one token)
    only the first succeeds: the second sees the step used, or the challenge spent. A wrong
    code leaves the challenge usable until it expires, and is recorded as a failed login.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        codes: SecondFactorCodes,
        sessions: SessionIssuer,
        clock: Clock,
        events: AuditEvents,
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._sessions = sessions
        self._clock = clock
        self._events = events

    async def execute(self, command: MfaGrantCommand) -> IssuedTokens:
        async with self._uow() as uow:
            now = self._clock.now()
            challenge = await _usable_challenge(uow, command.mfa_token, now, for_update=True)
            user = await uow.users.get_by_id(challenge.user_id, for_share=True)
            factor = await uow.second_factors.get(challenge.user_id, for_update=True)
            if user is None or not user.is_active or factor is None or not factor.is_enabled:
                raise InvalidCredentials(_INVALID_TOKEN)
            if not self._codes.check(factor, command.otp, now):
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.USER_LOGIN_FAILED,
                        command.context,
                        now,
                        subject_id=user.id,
                        details={"reason": "wrong_otp"},
                    )
                )
                await uow.commit()
                raise InvalidCredentials("The one-time code is wrong or was used already.")
            method = "totp" if is_totp_code(command.otp.strip()) else "recovery_code"
            challenge.spend(now)
            await uow.mfa_challenges.update(challenge)
            await uow.second_factors.save(factor)
            session, refresh = self._sessions.start(user, now, command.context, amr=OTP_AMR)
            await uow.sessions.add(session)
            await uow.refresh_tokens.add(refresh.record)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.USER_LOGIN_SUCCEEDED,
                    command.context,
                    now,
                    actor_id=user.id,
                    subject_id=user.id,
                    details={"session_id": str(session.id), "second_factor": method},
                )
            )
            await uow.commit()
        return await self._sessions.tokens_for(user, session, refresh, now)
