from __future__ import annotations

from uuid import UUID

import pytest

from application.errors import Forbidden, InvalidCursor, InvalidPageSize, UserNotFound
from application.pagination import MAX_PAGE_SIZE
from application.principal import Principal
from application.use_cases.get_user import GetUser, GetUserQuery
from application.use_cases.list_users import ListUsers, ListUsersQuery
from domain.errors import InvalidEmail
from domain.users import Role, User, UserId
from tests.fakes import FakeUnitOfWork
from tests.unit.builders import UserSeeder


@pytest.fixture
def list_users(uow: FakeUnitOfWork) -> ListUsers:
    return ListUsers(uow.factory)


@pytest.fixture
def get_user(uow: FakeUnitOfWork) -> GetUser:
    return GetUser(uow.factory)


@pytest.fixture
def admin(seed: UserSeeder) -> Principal:
    return Principal(user=seed.admin("admin@example.com"))


async def walk(list_users: ListUsers, query: ListUsersQuery) -> list[list[User]]:
    pages = [await list_users.execute(query)]
    while pages[-1].next_cursor is not None:
        query = ListUsersQuery(
            principal=query.principal,
            limit=query.limit,
            cursor=pages[-1].next_cursor,
            role=query.role,
            is_active=query.is_active,
            email=query.email,
        )
        pages.append(await list_users.execute(query))
    return [page.items for page in pages]


class TestListUsers:
    async def test_non_admin_is_forbidden(self, list_users: ListUsers, seed: UserSeeder) -> None:
        with pytest.raises(Forbidden):
            await list_users.execute(ListUsersQuery(principal=Principal(user=seed())))

    async def test_pages_visit_every_user_once_in_id_order(
        self, list_users: ListUsers, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
    ) -> None:
        for _ in range(6):
            seed()

        pages = await walk(list_users, ListUsersQuery(principal=admin, limit=3))

        assert [len(items) for items in pages] == [3, 3, 1]
        seen = [user.id for items in pages for user in items]
        assert seen == [user.id for user in uow.store.all()]
        assert seen == sorted(seen)

    async def test_exactly_full_last_page_has_no_next_cursor(
        self, list_users: ListUsers, admin: Principal, seed: UserSeeder
    ) -> None:
        for _ in range(3):
            seed()

        pages = await walk(list_users, ListUsersQuery(principal=admin, limit=2))

        assert [len(items) for items in pages] == [2, 2]

    async def test_single_page_has_no_next_cursor(
        self, list_users: ListUsers, admin: Principal
    ) -> None:
        page = await list_users.execute(ListUsersQuery(principal=admin))

        assert page.items == [admin.user]
        assert page.next_cursor is None

    async def test_filters_by_role(
        self, list_users: ListUsers, admin: Principal, seed: UserSeeder
    ) -> None:
        seed()
        other_admin = seed.admin()
        seed()

        page = await list_users.execute(ListUsersQuery(principal=admin, role=Role.ADMIN))

        assert page.items == [admin.user, other_admin]

    async def test_filters_by_activity(
        self, list_users: ListUsers, admin: Principal, seed: UserSeeder
    ) -> None:
        seed()
        inactive = [seed(is_active=False), seed.admin(is_active=False)]

        page = await list_users.execute(ListUsersQuery(principal=admin, is_active=False))

        assert page.items == inactive

    async def test_filters_by_email_ignoring_case(
        self, list_users: ListUsers, admin: Principal, seed: UserSeeder
    ) -> None:
        seed()
        ada = seed("Ada@example.com")

        page = await list_users.execute(ListUsersQuery(principal=admin, email="ADA@EXAMPLE.COM"))

        assert page.items == [ada]
        assert page.next_cursor is None

    async def test_filter_without_match_is_an_empty_last_page(
        self, list_users: ListUsers, admin: Principal
    ) -> None:
        page = await list_users.execute(ListUsersQuery(principal=admin, email="nobody@example.com"))

        assert page.items == []
        assert page.next_cursor is None

    async def test_filters_hold_across_pages(
        self, list_users: ListUsers, admin: Principal, seed: UserSeeder
    ) -> None:
        users = [seed(is_active=i % 2 == 0) for i in range(7)]

        pages = await walk(
            list_users,
            ListUsersQuery(principal=admin, limit=2, role=Role.USER, is_active=True),
        )

        assert [u for items in pages for u in items] == [u for u in users if u.is_active]
        assert [len(items) for items in pages] == [2, 2]

    @pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1])
    async def test_limit_out_of_bounds_is_refused(
        self, list_users: ListUsers, admin: Principal, limit: int
    ) -> None:
        with pytest.raises(InvalidPageSize, match="limit"):
            await list_users.execute(ListUsersQuery(principal=admin, limit=limit))

    async def test_limit_bounds_are_inclusive(
        self, list_users: ListUsers, admin: Principal, seed: UserSeeder
    ) -> None:
        for _ in range(MAX_PAGE_SIZE):
            seed()

        smallest = await list_users.execute(ListUsersQuery(principal=admin, limit=1))
        largest = await list_users.execute(ListUsersQuery(principal=admin, limit=MAX_PAGE_SIZE))

        assert len(smallest.items) == 1
        assert len(largest.items) == MAX_PAGE_SIZE
        assert largest.next_cursor is not None

    async def test_foreign_cursor_is_refused(self, list_users: ListUsers, admin: Principal) -> None:
        with pytest.raises(InvalidCursor):
            await list_users.execute(ListUsersQuery(principal=admin, cursor="bogus"))

    async def test_malformed_email_filter_is_refused(
        self, list_users: ListUsers, admin: Principal
    ) -> None:
        with pytest.raises(InvalidEmail):
            await list_users.execute(ListUsersQuery(principal=admin, email="nope"))


class TestGetUser:
    async def test_admin_gets_any_user(
        self, get_user: GetUser, admin: Principal, seed: UserSeeder
    ) -> None:
        user = seed("ada@example.com", full_name="Ada")

        found = await get_user.execute(GetUserQuery(principal=admin, user_id=user.id))

        assert found == user
        assert (found.email, found.full_name) == (user.email, user.full_name)

    async def test_unknown_id_is_not_found(self, get_user: GetUser, admin: Principal) -> None:
        with pytest.raises(UserNotFound):
            await get_user.execute(GetUserQuery(principal=admin, user_id=UserId(UUID(int=404))))

    async def test_non_admin_is_forbidden_even_for_themselves(
        self, get_user: GetUser, seed: UserSeeder
    ) -> None:
        user = seed()

        with pytest.raises(Forbidden):
            await get_user.execute(GetUserQuery(principal=Principal(user=user), user_id=user.id))
