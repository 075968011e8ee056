"""Register a new account with the `user` role."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from domain.users import EmailAddress, FullName, PasswordPolicy, User, UserId


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    email: str
    password: str
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
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._ids = ids
        self._policy = policy

    async def execute(self, command: RegisterUserCommand) -> User:
        email = EmailAddress(command.email)
        full_name = FullName(command.full_name)
        self._policy.check(command.password, email=email)
        # Hash before the transaction opens, so no database connection waits on Argon2.
        password_hash = await self._hasher.hash(command.password)
        user = User.register(
            user_id=UserId(self._ids.new_id()),
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            now=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user
