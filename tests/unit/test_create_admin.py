from __future__ import annotations

import pytest

from application.errors import EmailAlreadyRegistered
from application.use_cases.create_admin import CreateAdmin, CreateAdminCommand
from domain.errors import InvalidEmail, WeakPassword
from domain.users import FullName, PasswordPolicy, Role
from tests.fakes import FakePasswordHasher, FakeUnitOfWork, FixedClock, SequentialIds
from tests.unit.builders import PASSWORD, UserSeeder


@pytest.fixture
def create_admin(
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    ids: SequentialIds,
    policy: PasswordPolicy,
) -> CreateAdmin:
    return CreateAdmin(uow.factory, hasher, clock, ids, policy)


async def test_stores_an_active_admin(
    create_admin: CreateAdmin, uow: FakeUnitOfWork, hasher: FakePasswordHasher
) -> None:
    admin = await create_admin.execute(
        CreateAdminCommand("root@example.com", PASSWORD, full_name="Root")
    )

    assert uow.committed
    [stored] = uow.store.all()
    assert stored == admin
    assert stored.role is Role.ADMIN
    assert stored.is_active
    assert stored.full_name == FullName("Root")
    assert (await hasher.verify(PASSWORD, stored.password_hash)).valid
    assert await uow.store.lock_active_admin_ids() == [admin.id]


async def test_weak_password_stores_nothing(
    create_admin: CreateAdmin, uow: FakeUnitOfWork, hasher: FakePasswordHasher
) -> None:
    with pytest.raises(WeakPassword):
        await create_admin.execute(CreateAdminCommand("root@example.com", "short"))

    assert uow.store.all() == []
    assert hasher.hash_calls == 0


async def test_existing_email_is_refused_and_nothing_committed(
    create_admin: CreateAdmin, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    existing = seed("root@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        await create_admin.execute(CreateAdminCommand("ROOT@example.com", PASSWORD))

    assert not uow.committed
    [stored] = uow.store.all()
    assert stored == existing
    assert stored.role is Role.USER


async def test_invalid_email_is_refused(create_admin: CreateAdmin, uow: FakeUnitOfWork) -> None:
    with pytest.raises(InvalidEmail):
        await create_admin.execute(CreateAdminCommand("root", PASSWORD))

    assert uow.store.all() == []
