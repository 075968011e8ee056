"""Change the caller's own profile fields."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents, changed_fields, profile_of
from application.errors import UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.users import FullName, User


@dataclass(frozen=True, slots=True)
class UpdateOwnProfileCommand:
    principal: Principal
    full_name: str
    context: RequestContext = NO_REQUEST


class UpdateOwnProfile:
    """Rename the caller; role and activity are not theirs to change."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, events: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, command: UpdateOwnProfileCommand) -> User:
        full_name = FullName(command.full_name)
        async with self._uow() as uow:
            user = await uow.users.get_by_id(command.principal.user.id, for_update=True)
            if user is None:
                raise UserNotFound("The account no longer exists.")
            if full_name != user.full_name:
                before = profile_of(user)
                now = self._clock.now()
                user.rename(full_name, now)
                await uow.users.update(user)
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.USER_UPDATED,
                        command.context,
                        now,
                        actor_id=user.id,
                        subject_id=user.id,
                        details=changed_fields(before, profile_of(user)),
                    )
                )
                await uow.commit()
        return user
