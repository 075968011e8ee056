"""Read any user, for admins."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import UserNotFound
from application.ports import UnitOfWorkFactory
from application.principal import AnyPrincipal, ensure_can_read_users
from domain.users import User, UserId


@dataclass(frozen=True, slots=True)
class GetUserQuery:
    principal: AnyPrincipal
    user_id: UserId


class GetUser:
    """One user by id."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: GetUserQuery) -> User:
        ensure_can_read_users(query.principal)
        async with self._uow() as uow:
            user = await uow.users.get_by_id(query.user_id)
        if user is None:
            raise UserNotFound("No user has this id.")
        return user
