"""Change another user's name, role or activity, as an admin."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import PreconditionFailed, UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from domain.users import FullName, Role, User, UserId, ensure_an_active_admin_remains


@dataclass(frozen=True, slots=True)
class UpdateUserCommand:
    principal: Principal
    user_id: UserId
    full_name: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    if_match: frozenset[int] | None = None
    """Versions the client accepts (from `If-Match`); None means unconditional."""


class UpdateUser:
    """Apply an admin's changes atomically, never leaving the service without an active admin.

    When the change may remove an admin, every active admin row is locked first (always in that
    order, so two such updates cannot deadlock): of two admins demoting each other at once, the
    second waits, then sees the first one's change and is refused.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: UpdateUserCommand) -> User:
        command.principal.ensure_admin()
        full_name = FullName(command.full_name) if command.full_name is not None else None
        may_remove_admin = command.role is Role.USER or command.is_active is False
        async with self._uow() as uow:
            admin_ids = await uow.users.lock_active_admin_ids() if may_remove_admin else []
            user = await uow.users.get_by_id(command.user_id, for_update=True)
            if user is None:
                raise UserNotFound("No user has this id.")
            if command.if_match is not None and user.version not in command.if_match:
                raise PreconditionFailed("The user changed since you read it.")
            was_active_admin = user.is_active_admin
            before = (user.full_name, user.role, user.is_active)
            now = self._clock.now()
            if full_name is not None:
                user.rename(full_name, now)
            if command.role is not None:
                user.change_role(command.role, now)
            if command.is_active is True:
                user.reactivate(now)
            elif command.is_active is False:
                user.deactivate(now)
            ensure_an_active_admin_remains(
                user, was_active_admin=was_active_admin, active_admin_ids=admin_ids
            )
            if (user.full_name, user.role, user.is_active) != before:
                await uow.users.update(user)
                await uow.commit()
        return user
