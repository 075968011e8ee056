"""The SQLAlchemy user repository and unit of work against real databases.

Every test runs on PostgreSQL and on a SQLite file: the service supports both, and each
enforces uniqueness and serializes writers in its own way.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.database import create_engine, create_session_factory, ping
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.unit_of_work import unit_of_work_factory
from application.errors import ConcurrentUpdate, EmailAlreadyRegistered, StorageUnavailable
from application.ports.persistence import UserFilter
from domain.users import EmailAddress, FullName, HashedPassword, Role, User, UserId
from tests.integration.conftest import per_database_backend
from tests.integration.stored import UowFactory

NOW = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
HASH = HashedPassword("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/accounts"


def make_user(
    number: int,
    email: str | None = None,
    *,
    role: Role = Role.USER,
    is_active: bool = True,
    full_name: str = "",
) -> User:
    """A user whose id orders like `number`, as the service's time-ordered ids do."""
    user = User.register(
        user_id=UserId(UUID(int=number)),
        email=EmailAddress(email or f"user{number}@example.com"),
        full_name=FullName(full_name),
        password_hash=HASH,
        now=NOW,
        role=role,
    )
    user.is_active = is_active
    return user


async def store(uow_factory: UowFactory, *users: User) -> None:
    """Add the users in one unit of work and commit it."""
    async with uow_factory() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()


async def load(uow_factory: UowFactory, user_id: UserId) -> User | None:
    """The user as committed, read in a unit of work of its own."""
    async with uow_factory() as uow:
        return await uow.users.get_by_id(user_id)


async def count_users(uow_factory: UowFactory) -> int:
    """How many users are committed."""
    async with uow_factory() as uow:
        return len(await uow.users.list_page(UserFilter(limit=1000)))


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides the conftest fixture: each test here runs once per supported database."""
    return per_database_backend(request, tmp_path)


async def test_added_user_reads_back_field_for_field(uow_factory: UowFactory) -> None:
    user = make_user(1, "Ada.Lovelace@Example.COM", role=Role.ADMIN, full_name="Ada Lovelace")
    await store(uow_factory, user)

    loaded = await load(uow_factory, user.id)

    assert loaded is not None
    assert (loaded.id, loaded.email.value, loaded.full_name, loaded.role) == (
        user.id,
        "Ada.Lovelace@example.com",
        FullName("Ada Lovelace"),
        Role.ADMIN,
    )
    assert (loaded.is_active, loaded.password_hash, loaded.version) == (True, HASH, 1)
    assert loaded.created_at == NOW
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == timedelta(0)


async def test_times_in_other_offsets_are_stored_as_the_same_instant(
    uow_factory: UowFactory,
) -> None:
    user = make_user(1)
    user.updated_at = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    await store(uow_factory, user)

    loaded = await load(uow_factory, user.id)

    assert loaded is not None
    assert loaded.updated_at == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert loaded.updated_at.utcoffset() == timedelta(0)


async def test_unknown_id_and_email_read_as_none(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.users.get_by_id(UserId(UUID(int=404))) is None
        assert await uow.users.get_by_id(UserId(UUID(int=404)), for_update=True) is None
        assert await uow.users.get_by_email(EmailAddress("nobody@example.com")) is None


async def test_email_lookup_ignores_case(uow_factory: UowFactory) -> None:
    user = make_user(1, "Grace.Hopper@example.com")
    await store(uow_factory, user)

    async with uow_factory() as uow:
        found = await uow.users.get_by_email(EmailAddress("GRACE.HOPPER@EXAMPLE.COM"))

    assert found is not None
    assert found.id == user.id
    assert found.email.value == "Grace.Hopper@example.com"


async def test_get_by_id_for_update_returns_the_user(uow_factory: UowFactory) -> None:
    user = make_user(1)
    await store(uow_factory, user)

    async with uow_factory() as uow:
        locked = await uow.users.get_by_id(user.id, for_update=True)

    assert locked is not None
    assert locked.id == user.id


async def test_email_taken_in_another_case_is_refused_and_nothing_is_half_written(
    uow_factory: UowFactory,
) -> None:
    await store(uow_factory, make_user(1, "alice@example.com", full_name="Alice"))
    bystander = make_user(2, "bob@example.com")

    with pytest.raises(EmailAlreadyRegistered) as raised:
        await store(uow_factory, bystander, make_user(3, "ALICE@Example.com"))

    assert "INSERT" not in str(raised.value)
    assert raised.value.__cause__ is not None
    assert await load(uow_factory, bystander.id) is None
    assert await load(uow_factory, UserId(UUID(int=3))) is None
    alice = await load(uow_factory, UserId(UUID(int=1)))
    assert alice is not None
    assert alice.full_name == FullName("Alice")


async def test_concurrent_registrations_of_one_email_let_exactly_one_through(
    uow_factory: UowFactory,
) -> None:
    contenders = [
        make_user(n, "race@example.com" if n % 2 else "RACE@Example.com") for n in range(1, 11)
    ]

    outcomes = await asyncio.gather(
        *(store(uow_factory, user) for user in contenders), return_exceptions=True
    )

    assert sum(outcome is None for outcome in outcomes) == 1
    losers = [outcome for outcome in outcomes if outcome is not None]
    assert len(losers) == 9
    assert all(isinstance(loser, EmailAlreadyRegistered) for loser in losers), losers
    assert await count_users(uow_factory) == 1


async def test_update_writes_every_mutable_field_and_bumps_the_version(
    uow_factory: UowFactory,
) -> None:
    await store(uow_factory, make_user(1, role=Role.ADMIN))
    later = NOW + timedelta(hours=1)

    async with uow_factory() as uow:
        user = await uow.users.get_by_id(UserId(UUID(int=1)), for_update=True)
        assert user is not None
        user.rename(FullName("Renamed"), later)
        user.change_role(Role.USER, later)
        user.deactivate(later)
        user.change_password_hash(HashedPassword("$argon2id$new"), later)
        await uow.users.update(user)
        assert user.version == 2
        await uow.commit()

    loaded = await load(uow_factory, UserId(UUID(int=1)))
    assert loaded is not None
    assert (loaded.full_name, loaded.role, loaded.is_active) == (
        FullName("Renamed"),
        Role.USER,
        False,
    )
    assert loaded.password_hash == HashedPassword("$argon2id$new")
    assert (loaded.created_at, loaded.updated_at, loaded.version) == (NOW, later, 2)


async def test_update_from_a_stale_read_is_refused(uow_factory: UowFactory) -> None:
    await store(uow_factory, make_user(1))
    first = await load(uow_factory, UserId(UUID(int=1)))
    second = await load(uow_factory, UserId(UUID(int=1)))
    assert first is not None
    assert second is not None
    async with uow_factory() as uow:
        first.rename(FullName("First"), NOW)
        await uow.users.update(first)
        await uow.commit()

    async with uow_factory() as uow:
        second.rename(FullName("Second"), NOW)
        with pytest.raises(ConcurrentUpdate):
            await uow.users.update(second)

    assert second.version == 1
    stored = await load(uow_factory, UserId(UUID(int=1)))
    assert stored is not None
    assert (stored.full_name, stored.version) == (FullName("First"), 2)


async def test_update_of_a_deleted_or_unknown_user_is_refused(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(ConcurrentUpdate):
            await uow.users.update(make_user(99))


async def test_update_to_an_email_taken_in_another_case_is_refused(
    uow_factory: UowFactory,
) -> None:
    await store(uow_factory, make_user(1, "one@example.com"), make_user(2, "two@example.com"))
    two = await load(uow_factory, UserId(UUID(int=2)))
    assert two is not None
    two.email = EmailAddress("ONE@example.com")

    async with uow_factory() as uow:
        with pytest.raises(EmailAlreadyRegistered):
            await uow.users.update(two)


async def test_list_page_walks_ids_in_ascending_order(uow_factory: UowFactory) -> None:
    # Inserted out of order, so only ORDER BY can produce the ascending result.
    await store(uow_factory, *(make_user(n) for n in (5, 3, 1, 4, 2)))

    async with uow_factory() as uow:
        first = await uow.users.list_page(UserFilter(limit=2))
        second = await uow.users.list_page(UserFilter(limit=2, after=first[-1].id))
        last = await uow.users.list_page(UserFilter(limit=2, after=second[-1].id))
        beyond = await uow.users.list_page(UserFilter(limit=2, after=last[-1].id))

    assert [u.id.int for u in first] == [1, 2]
    assert [u.id.int for u in second] == [3, 4]
    assert [u.id.int for u in last] == [5]
    assert beyond == []


async def test_list_page_filters_by_role_activity_and_email(uow_factory: UowFactory) -> None:
    await store(
        uow_factory,
        make_user(1, role=Role.ADMIN),
        make_user(2, role=Role.ADMIN, is_active=False),
        make_user(3, "Mixed.Case@example.com"),
        make_user(4, is_active=False),
        make_user(5, role=Role.ADMIN),
        make_user(6),
    )

    async def ids(query: UserFilter) -> list[int]:
        async with uow_factory() as uow:
            return [user.id.int for user in await uow.users.list_page(query)]

    assert await ids(UserFilter(limit=10, role=Role.ADMIN)) == [1, 2, 5]
    assert await ids(UserFilter(limit=10, is_active=False)) == [2, 4]
    assert await ids(UserFilter(limit=10, role=Role.ADMIN, is_active=True)) == [1, 5]
    assert await ids(UserFilter(limit=1, role=Role.ADMIN, after=UserId(UUID(int=1)))) == [2]
    assert await ids(UserFilter(limit=10, role=Role.USER, is_active=True)) == [3, 6]
    email = EmailAddress("mixed.case@EXAMPLE.com")
    assert await ids(UserFilter(limit=10, email=email)) == [3]
    assert await ids(UserFilter(limit=10, email=email, is_active=False)) == []


async def test_lock_active_admin_ids_returns_only_active_admins_in_id_order(
    uow_factory: UowFactory,
) -> None:
    await store(
        uow_factory,
        make_user(4, role=Role.ADMIN),
        make_user(1, role=Role.ADMIN, is_active=False),
        make_user(2),
        make_user(3, role=Role.ADMIN),
    )

    async with uow_factory() as uow:
        admin_ids = await uow.users.lock_active_admin_ids()

    assert [admin_id.int for admin_id in admin_ids] == [3, 4]


async def test_leaving_without_commit_rolls_back(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.users.add(make_user(1))

    assert await load(uow_factory, UserId(UUID(int=1))) is None


async def test_an_error_in_the_block_rolls_back_and_propagates(uow_factory: UowFactory) -> None:
    class Boom(Exception):
        pass

    async def add_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.users.add(make_user(1))
            raise Boom

    with pytest.raises(Boom):
        await add_then_fail()

    assert await load(uow_factory, UserId(UUID(int=1))) is None


async def test_one_unit_of_work_cannot_be_entered_twice_at_once(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    async with uow:
        with pytest.raises(RuntimeError):
            await uow.__aenter__()
    async with uow:
        assert await uow.users.get_by_id(UserId(UUID(int=1))) is None


async def test_admin_locks_serialize_concurrent_demotions(uow_factory: UowFactory) -> None:
    first_admin = make_user(1, role=Role.ADMIN)
    second_admin = make_user(2, role=Role.ADMIN)
    await store(uow_factory, first_admin, second_admin)
    second_saw_locked = asyncio.Event()

    async def second_transaction() -> list[int]:
        async with uow_factory() as uow:
            second_saw_locked.set()
            admin_ids = await uow.users.lock_active_admin_ids()
            return [admin_id.int for admin_id in admin_ids]

    async with uow_factory() as first:
        assert len(await first.users.lock_active_admin_ids()) == 2
        waiter = asyncio.create_task(second_transaction())
        await second_saw_locked.wait()
        await asyncio.sleep(0.5)
        assert not waiter.done(), "the second lock did not wait for the first transaction"

        demoted = await first.users.get_by_id(first_admin.id, for_update=True)
        assert demoted is not None
        demoted.change_role(Role.USER, NOW)
        await first.users.update(demoted)
        await first.commit()

    assert await asyncio.wait_for(waiter, timeout=10) == [2]


async def test_ping_succeeds_on_a_reachable_database(engine: AsyncEngine) -> None:
    await ping(engine)


async def test_exhausted_pool_is_reported_as_storage_unavailable(
    migrated_database_url: str,
) -> None:
    engine = create_engine(migrated_database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    gate = ConnectionGate(size=1, timeout=0.2)
    uow_factory = unit_of_work_factory(create_session_factory(engine), gate)
    try:
        async with uow_factory() as holder:
            await holder.users.get_by_id(UserId(UUID(int=1)))
            with pytest.raises(StorageUnavailable):
                async with uow_factory() as starved:
                    await starved.users.get_by_id(UserId(UUID(int=1)))
    finally:
        await engine.dispose()


async def test_ping_of_a_closed_port_is_reported_as_storage_unavailable() -> None:
    engine = create_engine(CLOSED_PORT_URL, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        with pytest.raises(StorageUnavailable) as raised:
            await ping(engine)
    finally:
        await engine.dispose()

    assert raised.value.__cause__ is not None
    assert "SELECT" not in str(raised.value)


async def test_unit_of_work_on_a_closed_port_reports_storage_unavailable() -> None:
    engine = create_engine(CLOSED_PORT_URL, pool_size=1, max_overflow=0, pool_timeout=1)
    uow_factory = unit_of_work_factory(
        create_session_factory(engine), ConnectionGate(size=1, timeout=1)
    )
    try:
        with pytest.raises(StorageUnavailable) as raised:
            async with uow_factory() as uow:
                await uow.users.get_by_email(EmailAddress("someone@example.com"))
    finally:
        await engine.dispose()

    assert "SELECT" not in str(raised.value)
    assert "someone" not in str(raised.value)


async def test_unopenable_sqlite_file_is_reported_as_storage_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory" / "accounts.db"
    engine = create_engine(
        f"sqlite+aiosqlite:///{missing}", pool_size=1, max_overflow=0, pool_timeout=1
    )
    uow_factory = unit_of_work_factory(
        create_session_factory(engine), ConnectionGate(size=1, timeout=1)
    )
    try:
        with pytest.raises(StorageUnavailable):
            await ping(engine)
        with pytest.raises(StorageUnavailable):
            async with uow_factory() as uow:
                await uow.users.get_by_id(UserId(UUID(int=1)))
    finally:
        await engine.dispose()
