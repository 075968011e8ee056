"""Turn a user's second factor off: the owner with a code, or an admin for a lost device."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.errors import InvalidOneTimeCode, UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from application.second_factor import SecondFactorCodes, callers_factor
from application.sessions import end_sessions
from domain.audit import AuditEventType
from domain.users import UserId


@dataclass(frozen=True, slots=True)
class DisableTotpCommand:
    principal: Principal
    code: str | None = field(default=None, repr=False)
    """The owner's current code (TOTP or recovery code); not asked of an admin."""
    user_id: UserId | None = None
    """Another user's factor (admins only); None for the caller's own."""
    context: RequestContext = NO_REQUEST


class DisableTotp:
    """Remove the factor (pending or on) and its recovery codes.

    The owner needs a current code, and keeps the calling session while every other ends; an
    admin needs none, and every session of the user ends. Removing a factor the user does not
    have changes nothing and records nothing for an admin; the owner gets `InvalidOneTimeCode`.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, codes: SecondFactorCodes, clock: Clock, events: AuditEvents
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock
        self._events = events

    async def execute(self, command: DisableTotpCommand) -> None:
        principal = command.principal
        by_admin = command.user_id is not None
        async with self._uow() as uow:
            now = self._clock.now()
            if command.user_id is not None:
                principal.ensure_admin()
                user = await uow.users.get_by_id(command.user_id, for_update=True)
                if user is None:
                    raise UserNotFound("No user has this id.")
                factor = await uow.second_factors.get(user.id, for_update=True)
                if factor is None and not user.mfa_enabled:
                    return
            else:
                user, factor = await callers_factor(uow, principal)
                if factor is None:
                    raise InvalidOneTimeCode("There is no second factor to turn off.")
                self._codes.spend(factor, command.code, now)
            await uow.second_factors.delete(user.id)
            was_enabled = user.mfa_enabled
            user.disable_mfa(now)
            await uow.users.update(user)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.MFA_DISABLED,
                    command.context,
                    now,
                    actor_id=principal.user.id,
                    subject_id=user.id,
                    details={
                        "method": "totp",
                        "by": "admin" if by_admin else "user",
                        "was_enabled": was_enabled,
                    },
                )
            )
            if was_enabled:
                await end_sessions(
                    uow,
                    self._events,
                    command.context,
                    now,
                    user.id,
                    actor_id=principal.user.id,
                    reason="mfa_disabled",
                    keep=None if by_admin else principal.session_id,
                )
            await uow.commit()
