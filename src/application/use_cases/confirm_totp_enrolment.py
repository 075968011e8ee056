"""Confirm a TOTP enrolment with a code of its secret: the second factor goes on."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.errors import InvalidOneTimeCode, MfaAlreadyEnabled
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from application.second_factor import SecondFactorCodes, callers_factor
from application.sessions import end_sessions
from domain.audit import AuditEventType


@dataclass(frozen=True, slots=True)
class OneTimeCodeCommand:
    """A caller's one-time code (TOTP, or a recovery code where one is accepted)."""

    principal: Principal
    code: str = field(repr=False)
    context: RequestContext = NO_REQUEST


@dataclass(frozen=True, slots=True)
class RecoveryCodes:
    """Recovery codes, shown once: only their digests are kept."""

    codes: list[str] = field(repr=False)


class ConfirmTotpEnrolment:
    """Turn the pending factor on when `code` is one of its secret; hand out recovery codes.

    Ends every other session of the caller: a session opened with the password alone should
    not outlive the decision to need more than a password.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, codes: SecondFactorCodes, clock: Clock, events: AuditEvents
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock
        self._events = events

    async def execute(self, command: OneTimeCodeCommand) -> RecoveryCodes:
        principal = command.principal
        async with self._uow() as uow:
            user, factor = await callers_factor(uow, principal)
            if user.mfa_enabled:
                raise MfaAlreadyEnabled("The second factor is on already.")
            if factor is None:
                raise InvalidOneTimeCode("No enrolment is in progress: start one first.")
            now = self._clock.now()
            self._codes.spend(factor, command.code, now, recovery_codes=False)
            shown, digests = self._codes.new_recovery_codes()
            factor.confirm(now, digests)
            await uow.second_factors.save(factor)
            user.enable_mfa(now)
            await uow.users.update(user)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.MFA_ENABLED,
                    command.context,
                    now,
                    actor_id=user.id,
                    subject_id=user.id,
                    details={"method": "totp"},
                )
            )
            await end_sessions(
                uow,
                self._events,
                command.context,
                now,
                user.id,
                actor_id=user.id,
                reason="mfa_enabled",
                keep=principal.session_id,
            )
            await uow.commit()
        return RecoveryCodes(shown)
