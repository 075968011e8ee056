"""New recovery codes for the caller's second factor; the old ones stop working."""

from __future__ import annotations

from application.audit import AuditEvents
from application.errors import InvalidOneTimeCode
from application.ports import Clock, UnitOfWorkFactory
from application.second_factor import SecondFactorCodes, callers_factor
from application.use_cases.confirm_totp_enrolment import OneTimeCodeCommand, RecoveryCodes
from domain.audit import AuditEventType


class RegenerateRecoveryCodes:
    """Replace the recovery codes, given a current code (TOTP or one of the recovery codes)."""

    def __init__(
        self, uow: UnitOfWorkFactory, codes: SecondFactorCodes, clock: Clock, events: AuditEvents
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock
        self._events = events

    async def execute(self, command: OneTimeCodeCommand) -> RecoveryCodes:
        async with self._uow() as uow:
            user, factor = await callers_factor(uow, command.principal)
            if factor is None or not factor.is_enabled:
                raise InvalidOneTimeCode("The second factor is not on.")
            now = self._clock.now()
            self._codes.spend(factor, command.code, now)
            shown, digests = self._codes.new_recovery_codes()
            factor.replace_recovery_codes(digests)
            await uow.second_factors.save(factor)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.MFA_RECOVERY_CODES_REGENERATED,
                    command.context,
                    now,
                    actor_id=user.id,
                    subject_id=user.id,
                )
            )
            await uow.commit()
        return RecoveryCodes(shown)
