"""Change the caller's own profile fields."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from domain.users import FullName, User


@dataclass(frozen=True, slots=True)
class UpdateOwnProfileCommand:
    principal: Principal
    full_name: str


class UpdateOwnProfile:
    """Rename the caller; role and activity are not theirs to change."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: UpdateOwnProfileCommand) -> User:
        full_name = FullName(command.full_name)
        async with self._uow() as uow:
            user = await uow.users.get_by_id(command.principal.user.id, for_update=True)
            if user is None:
                raise UserNotFound("The account no longer exists.")
            if full_name != user.full_name:
                user.rename(full_name, self._clock.now())
                await uow.users.update(user)
                await uow.commit()
        return user
