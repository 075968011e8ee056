"""Create an admin account (for operators, from the command line)."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from domain.users import EmailAddress, FullName, PasswordPolicy, Role, User, UserId


@dataclass(frozen=True, slots=True)
class CreateAdminCommand:
    email: str
    password: str
    full_name: str = ""


class CreateAdmin:
    """Create an active admin; the email must not be registered yet."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        ids: IdGenerator,
        policy: PasswordPolicy,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._ids = ids
        self._policy = policy

    async def execute(self, command: CreateAdminCommand) -> User:
        email = EmailAddress(command.email)
        full_name = FullName(command.full_name)
        self._policy.check(command.password, email=email)
        password_hash = await self._hasher.hash(command.password)
        admin = User.register(
            user_id=UserId(self._ids.new_id()),
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            now=self._clock.now(),
            role=Role.ADMIN,
        )
        async with self._uow() as uow:
            await uow.users.add(admin)
            await uow.commit()
        return admin
