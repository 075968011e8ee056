"""Opening an account: the steps registration and admin creation share."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from domain.users import EmailAddress, FullName, PasswordPolicy, Role, User, UserId


@dataclass(frozen=True, slots=True)
class AccountOpener:
    """Validate, hash (before any transaction opens), then insert one new active account."""

    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    ids: IdGenerator
    policy: PasswordPolicy

    async def open(self, *, email: str, password: str, full_name: str, role: Role) -> User:
        address = EmailAddress(email)
        name = FullName(full_name)
        self.policy.check(password, email=address)
        # Hashing first means no database connection ever waits on Argon2.
        password_hash = await self.hasher.hash(password)
        user = User.register(
            user_id=UserId(self.ids.new_id()),
            email=address,
            full_name=name,
            password_hash=password_hash,
            now=self.clock.now(),
            role=role,
        )
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user
