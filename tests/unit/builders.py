"""Test-data builders shared by the unit tests."""

from __future__ import annotations

from domain.users import EmailAddress, FullName, Role, User, UserId
from tests.fakes import FakePasswordHasher, FakeUnitOfWork, FixedClock, SequentialIds

PASSWORD = "correct horse battery staple"


class UserSeeder:
    """Builds users and stores them as already committed, bypassing any use case."""

    def __init__(
        self,
        uow: FakeUnitOfWork,
        ids: SequentialIds,
        clock: FixedClock,
        hasher: FakePasswordHasher,
    ) -> None:
        self._uow = uow
        self._ids = ids
        self._clock = clock
        self._hasher = hasher
        self._serial = 0

    def __call__(
        self,
        email: str | None = None,
        *,
        role: Role = Role.USER,
        is_active: bool = True,
        full_name: str = "",
        password: str = PASSWORD,
        hash_params: str | None = None,
    ) -> User:
        self._serial += 1
        user = User.register(
            user_id=UserId(self._ids.new_id()),
            email=EmailAddress(email or f"user{self._serial}@example.com"),
            full_name=FullName(full_name),
            password_hash=self._hasher.hash_now(password, hash_params),
            now=self._clock.now(),
            role=role,
        )
        user.is_active = is_active
        self._uow.store.seed(user)
        return user

    def admin(self, email: str | None = None, *, is_active: bool = True) -> User:
        return self(email, role=Role.ADMIN, is_active=is_active)
