"""List users for admins, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from application.pagination import (
    DEFAULT_PAGE_SIZE,
    Listing,
    Page,
    check_page_size,
    decode_cursor,
    page_of,
)
from application.ports import UnitOfWorkFactory
from application.ports.persistence import UserFilter
from application.principal import AnyPrincipal, ensure_can_read_users
from domain.users import EmailAddress, Role, User, UserId


@dataclass(frozen=True, slots=True)
class ListUsersQuery:
    principal: AnyPrincipal
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    email: str | None = None


class ListUsers:
    """Keyset pagination in id order (ids are time-ordered): stable under concurrent inserts."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListUsersQuery) -> Page[User]:
        ensure_can_read_users(query.principal)
        check_page_size(query.limit)
        after = UserId(decode_cursor(Listing.USERS, query.cursor)) if query.cursor else None
        email = EmailAddress(query.email) if query.email is not None else None
        async with self._uow() as uow:
            users = await uow.users.list_page(
                UserFilter(
                    limit=query.limit + 1,
                    after=after,
                    role=query.role,
                    is_active=query.is_active,
                    email=email,
                )
            )
        return page_of(Listing.USERS, users, query.limit)
