"""Change one's own password, proving the current one."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.errors import ConcurrentUpdate, InvalidCurrentPassword, UserNotFound
from application.passwords import verify_password
from application.ports import Clock, PasswordHasher, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import end_sessions
from domain.audit import AuditEventType
from domain.credentials import TokenPurpose
from domain.errors import WeakPassword
from domain.users import PasswordPolicy


@dataclass(frozen=True, slots=True)
class ChangePasswordCommand:
    principal: Principal
    current_password: str = field(repr=False)
    new_password: str = field(repr=False)
    context: RequestContext = NO_REQUEST


class ChangePassword:
    """Verify the current password, apply the policy to the new one, store its hash, void any
    outstanding reset link and end every login session of the user (a password change is what
    one does after a compromise).

    Bearer tokens only: a leaked API key must not be able to take the account over.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        policy: PasswordPolicy,
        events: AuditEvents,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._policy = policy
        self._events = events

    async def execute(self, command: ChangePasswordCommand) -> None:
        command.principal.ensure_bearer()
        user = command.principal.user
        check = await verify_password(
            self._hasher, self._policy, command.current_password, user.password_hash
        )
        if not check.valid:
            raise InvalidCurrentPassword("The current password is not correct.")
        try:
            self._policy.check(command.new_password, email=user.email)
        except WeakPassword as exc:
            raise WeakPassword(str(exc), field="new_password") from None
        new_hash = await self._hasher.hash(command.new_password)
        now = self._clock.now()
        async with self._uow() as uow:
            stored = await uow.users.get_by_id(user.id, for_update=True)
            if stored is None:
                raise UserNotFound("No user has this id.")
            if stored.password_hash != user.password_hash:
                # Changed by a concurrent request after we verified the old one.
                raise ConcurrentUpdate("The password was changed by another request.")
            stored.change_password_hash(new_hash, now)
            await uow.users.update(stored)
            # A reset link asked for before the change must not undo it.
            await uow.one_time_tokens.delete_for(user.id, TokenPurpose.PASSWORD_RESET)
            changed = self._events.new(
                AuditEventType.USER_PASSWORD_CHANGED,
                command.context,
                now,
                actor_id=user.id,
                subject_id=user.id,
            )
            await uow.audit.record(changed)
            await end_sessions(
                uow,
                self._events,
                command.context,
                now,
                user.id,
                actor_id=user.id,
                reason="password_changed",
            )
            await uow.commit()
