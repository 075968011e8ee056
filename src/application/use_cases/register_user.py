"""Register a new account: a user through the API, an admin from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from domain.users import EmailAddress, FullName, PasswordPolicy, Role, User, UserId


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    email: str
    password: str = field(repr=False)
    full_name: str = ""
    role: Role = Role.USER


class RegisterUser:
    """Create an active account with the command's role; the email must not be registered yet.

    The password is checked and hashed before any transaction opens, so no database
    connection ever waits on the hash.
    """

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

    async def execute(self, command: RegisterUserCommand) -> User:
        email = EmailAddress(command.email)
        full_name = FullName(command.full_name)
        self._policy.check(command.password, email=email)
        password_hash = await self._hasher.hash(command.password)
        user = User.register(
            user_id=UserId(self._ids.new_id()),
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            now=self._clock.now(),
            role=command.role,
        )
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user
