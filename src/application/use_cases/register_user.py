"""Register a new account with the `user` role."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.accounts import AccountOpener
from application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from domain.users import PasswordPolicy, Role, User


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    email: str
    password: str = field(repr=False)
    full_name: str = ""


class RegisterUser:
    """Create an active account; the email must not be registered yet."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        ids: IdGenerator,
        policy: PasswordPolicy,
    ) -> None:
        self._accounts = AccountOpener(uow, hasher, clock, ids, policy)

    async def execute(self, command: RegisterUserCommand) -> User:
        return await self._accounts.open(
            email=command.email,
            password=command.password,
            full_name=command.full_name,
            role=Role.USER,
        )
