"""Persistence ports: repositories and the unit of work that makes their writes atomic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from domain.users import EmailAddress, Role, User, UserId


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Which users a listing returns, and from where (keyset: ids greater than `after`)."""

    limit: int
    after: UserId | None = None
    role: Role | None = None
    is_active: bool | None = None
    email: EmailAddress | None = None


class UserRepository(Protocol):
    """Stores and finds users; never commits (the unit of work does)."""

    async def get_by_id(self, user_id: UserId, *, for_update: bool = False) -> User | None:
        """The user, or None; `for_update` locks the row until the transaction ends."""
        ...

    async def get_by_email(self, email: EmailAddress) -> User | None:
        """The user whose email matches case-insensitively, or None."""
        ...

    async def add(self, user: User) -> None:
        """Insert a new user; raises `EmailAlreadyRegistered` when the email is taken."""
        ...

    async def update(self, user: User) -> None:
        """Write the user's state if its version is unchanged, then bump the version.

        Raises `ConcurrentUpdate` when the stored version moved on since the user was read.
        """
        ...

    async def list_page(self, query: UserFilter) -> list[User]:
        """Up to `query.limit` users matching the filter, in ascending id order."""
        ...

    async def lock_active_admin_ids(self) -> list[UserId]:
        """Ids of every active admin, locked until the transaction ends."""
        ...


class UnitOfWork(Protocol):
    """One transaction: leaving the block without `commit()` rolls everything back."""

    users: UserRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make every write of this unit durable."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Makes a fresh unit of work; use cases hold the factory so they can be shared singletons."""
