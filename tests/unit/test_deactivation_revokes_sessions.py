from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import AccountDisabled, InvalidCredentials
from application.principal import Principal
from application.use_cases.update_user import UpdateUser, UpdateUserCommand
from domain.errors import LastActiveAdmin
from tests.fakes import FakeUnitOfWork, FixedClock
from tests.unit.builders import SessionFlows, UserSeeder


@pytest.fixture
def update_user(uow: FakeUnitOfWork, clock: FixedClock) -> UpdateUser:
    return UpdateUser(uow.factory, clock)


@pytest.fixture
def admin(seed: UserSeeder) -> Principal:
    return Principal(user=seed.admin("admin@example.com"))


async def test_deactivation_revokes_every_session_of_the_user(
    update_user: UpdateUser,
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    admin = Principal(seed.admin())
    user = seed()
    laptop = await auth.login(user)
    phone = await auth.login(user)
    clock.advance(timedelta(minutes=3))

    await update_user.execute(UpdateUserCommand(admin, user.id, is_active=False))

    theirs = [f for f in uow.session_store.sessions.values() if f.user_id == user.id]
    assert len(theirs) == 2
    assert all(f.ended_at == clock.now() for f in theirs)
    for issued in (laptop, phone):
        with pytest.raises(InvalidCredentials):
            await auth.refresh(issued.refresh_token)


async def test_after_deactivation_the_access_token_gives_account_disabled(
    update_user: UpdateUser,
    auth: SessionFlows,
    admin: Principal,
    seed: UserSeeder,
) -> None:
    user = seed()
    issued = await auth.login(user)
    await auth.resolve(issued.access_token.value)

    await update_user.execute(UpdateUserCommand(admin, user.id, is_active=False))

    with pytest.raises(AccountDisabled):
        await auth.resolve(issued.access_token.value)


async def test_reactivation_does_not_bring_the_old_sessions_back(
    update_user: UpdateUser,
    auth: SessionFlows,
    admin: Principal,
    seed: UserSeeder,
) -> None:
    user = seed()
    before = await auth.login(user)
    await update_user.execute(UpdateUserCommand(admin, user.id, is_active=False))

    await update_user.execute(UpdateUserCommand(admin, user.id, is_active=True))

    with pytest.raises(InvalidCredentials):
        await auth.refresh(before.refresh_token)
    after = await auth.login(user)
    await auth.refresh(after.refresh_token)


async def test_other_users_sessions_survive_a_deactivation(
    update_user: UpdateUser,
    auth: SessionFlows,
    admin: Principal,
    seed: UserSeeder,
) -> None:
    target, bystander = seed(), seed()
    await auth.login(target)
    theirs = await auth.login(bystander)

    await update_user.execute(UpdateUserCommand(admin, target.id, is_active=False))

    await auth.resolve(theirs.access_token.value)
    await auth.refresh(theirs.refresh_token)


async def test_other_changes_leave_sessions_alone(
    update_user: UpdateUser,
    auth: SessionFlows,
    admin: Principal,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
) -> None:
    user = seed()
    issued = await auth.login(user)

    await update_user.execute(UpdateUserCommand(admin, user.id, full_name="Renamed"))

    assert not any(f.is_ended for f in uow.session_store.sessions.values())
    await auth.refresh(issued.refresh_token)


async def test_a_refused_deactivation_revokes_nothing(
    update_user: UpdateUser,
    auth: SessionFlows,
    admin: Principal,
    uow: FakeUnitOfWork,
) -> None:
    issued = await auth.login(admin.user)

    with pytest.raises(LastActiveAdmin):
        await update_user.execute(UpdateUserCommand(admin, admin.user.id, is_active=False))

    assert not any(f.is_ended for f in uow.session_store.sessions.values())
    await auth.refresh(issued.refresh_token)
