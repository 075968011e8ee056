from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import UserNotFound
from application.principal import Principal
from application.use_cases.get_own_profile import GetOwnProfile
from application.use_cases.update_own_profile import UpdateOwnProfile, UpdateOwnProfileCommand
from domain.errors import InvalidFullName
from domain.users import FullName, Role, UserId
from tests.fakes import FakeUnitOfWork, FixedClock, audit_events
from tests.unit.builders import UserSeeder


@pytest.fixture
def update_profile(uow: FakeUnitOfWork, clock: FixedClock) -> UpdateOwnProfile:
    return UpdateOwnProfile(uow.factory, clock, audit_events())


async def test_get_own_profile_is_the_principals_account(seed: UserSeeder) -> None:
    user = seed(full_name="Ada")

    profile = await GetOwnProfile().execute(Principal(user=user))

    assert profile == user
    assert profile.full_name == FullName("Ada")


async def test_rename_persists_and_bumps_the_version(
    update_profile: UpdateOwnProfile, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = seed(full_name="Ada")
    clock.advance(timedelta(hours=1))

    result = await update_profile.execute(
        UpdateOwnProfileCommand(Principal(user=user), full_name="  Ada   Lovelace ")
    )

    assert result.full_name == FullName("Ada Lovelace")
    assert result.version == 2
    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.full_name == FullName("Ada Lovelace")
    assert stored.version == 2
    assert stored.updated_at == clock.now()


async def test_unchanged_name_writes_nothing(
    update_profile: UpdateOwnProfile, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = seed(full_name="Ada Lovelace")
    clock.advance(timedelta(hours=1))

    result = await update_profile.execute(
        UpdateOwnProfileCommand(Principal(user=user), full_name=" Ada  Lovelace")
    )

    assert result.version == 1
    assert not uow.committed
    stored = uow.store.find(user.id)
    assert stored is not None
    assert (stored.version, stored.updated_at) == (1, user.updated_at)


async def test_rename_keeps_changes_made_since_the_principal_was_read(
    update_profile: UpdateOwnProfile, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = seed(full_name="Ada")
    principal = Principal(user=user)
    async with uow:
        current = await uow.users.get_by_id(user.id)
        assert current is not None
        current.change_role(Role.ADMIN, clock.now())
        await uow.users.update(current)
        await uow.commit()

    await update_profile.execute(UpdateOwnProfileCommand(principal, full_name="Ada L"))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert (stored.full_name, stored.role, stored.version) == (FullName("Ada L"), Role.ADMIN, 3)


async def test_invalid_name_changes_nothing(
    update_profile: UpdateOwnProfile, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed(full_name="Ada")

    with pytest.raises(InvalidFullName):
        await update_profile.execute(UpdateOwnProfileCommand(Principal(user=user), "Ada\x00"))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.full_name == FullName("Ada")


async def test_vanished_account_is_not_found(
    update_profile: UpdateOwnProfile, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    ghost = seed()
    ghost.id = UserId(UUID(int=404))

    with pytest.raises(UserNotFound):
        await update_profile.execute(UpdateOwnProfileCommand(Principal(user=ghost), "Boo"))

    assert not uow.committed
