from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import Forbidden, PreconditionFailed, UserNotFound
from application.principal import Principal
from application.use_cases.update_user import UpdateUser, UpdateUserCommand
from domain.errors import InvalidFullName, LastActiveAdmin
from domain.users import FullName, Role, User, UserId
from tests.fakes import FakeUnitOfWork, FixedClock, audit_events
from tests.unit.builders import UserSeeder


@pytest.fixture
def update_user(uow: FakeUnitOfWork, clock: FixedClock) -> UpdateUser:
    return UpdateUser(uow.factory, clock, audit_events())


@pytest.fixture
def admin(seed: UserSeeder) -> Principal:
    return Principal(user=seed.admin("admin@example.com"))


def stored(uow: FakeUnitOfWork, user: User) -> User:
    found = uow.store.find(user.id)
    assert found is not None
    return found


async def test_rename(
    update_user: UpdateUser,
    admin: Principal,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    user = seed(full_name="Ada")
    clock.advance(timedelta(minutes=5))

    result = await update_user.execute(
        UpdateUserCommand(principal=admin, user_id=user.id, full_name=" Ada  Lovelace ")
    )

    after = stored(uow, user)
    assert after.full_name == FullName("Ada Lovelace")
    assert after.version == result.version == 2
    assert after.updated_at == clock.now()


async def test_promote(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed()

    await update_user.execute(UpdateUserCommand(admin, user.id, role=Role.ADMIN))

    assert stored(uow, user).is_active_admin


async def test_deactivate(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed()

    await update_user.execute(UpdateUserCommand(admin, user.id, is_active=False))

    assert not stored(uow, user).is_active


async def test_reactivate(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed(is_active=False)

    await update_user.execute(UpdateUserCommand(admin, user.id, is_active=True))

    assert stored(uow, user).is_active


async def test_several_changes_are_one_write(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed(is_active=False)

    await update_user.execute(
        UpdateUserCommand(admin, user.id, full_name="Grace", role=Role.ADMIN, is_active=True)
    )

    after = stored(uow, user)
    assert (after.full_name, after.role, after.is_active) == (FullName("Grace"), Role.ADMIN, True)
    assert after.version == 2


async def test_no_actual_change_writes_nothing(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed(full_name="Ada")

    result = await update_user.execute(
        UpdateUserCommand(admin, user.id, full_name="Ada", role=Role.USER, is_active=True)
    )

    assert result.version == 1
    assert not uow.committed
    assert stored(uow, user).version == 1


async def test_if_match_mismatch_changes_nothing(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed(full_name="Ada")

    with pytest.raises(PreconditionFailed):
        await update_user.execute(
            UpdateUserCommand(admin, user.id, full_name="Changed", if_match=frozenset({2, 3}))
        )

    assert not uow.committed
    after = stored(uow, user)
    assert (after.full_name, after.version) == (FullName("Ada"), 1)


async def test_if_match_with_the_current_version_passes(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed(full_name="Ada")

    await update_user.execute(
        UpdateUserCommand(admin, user.id, full_name="Changed", if_match=frozenset({0, 1}))
    )

    assert stored(uow, user).full_name == FullName("Changed")


async def test_if_match_sees_the_version_after_earlier_updates(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed()
    first = await update_user.execute(UpdateUserCommand(admin, user.id, full_name="One"))

    with pytest.raises(PreconditionFailed):
        await update_user.execute(
            UpdateUserCommand(admin, user.id, full_name="Two", if_match=frozenset({1}))
        )
    await update_user.execute(
        UpdateUserCommand(admin, user.id, full_name="Two", if_match=frozenset({first.version}))
    )

    assert stored(uow, user).full_name == FullName("Two")


@pytest.mark.parametrize(
    ("role", "is_active"),
    [pytest.param(Role.USER, None, id="demote"), pytest.param(None, False, id="deactivate")],
)
async def test_last_active_admin_cannot_remove_themselves(
    update_user: UpdateUser,
    admin: Principal,
    uow: FakeUnitOfWork,
    role: Role | None,
    is_active: bool | None,
) -> None:
    command = UpdateUserCommand(
        admin, admin.user.id, full_name="Renamed too", role=role, is_active=is_active
    )

    with pytest.raises(LastActiveAdmin):
        await update_user.execute(command)

    assert not uow.committed
    after = stored(uow, admin.user)
    assert after.is_active_admin
    assert after.full_name == admin.user.full_name
    assert after.version == 1


async def test_an_inactive_admin_does_not_count_as_remaining(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    seed.admin(is_active=False)

    with pytest.raises(LastActiveAdmin):
        await update_user.execute(UpdateUserCommand(admin, admin.user.id, role=Role.USER))

    assert stored(uow, admin.user).is_active_admin


async def test_with_two_admins_one_can_be_demoted_but_then_not_the_other(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    other = seed.admin()

    await update_user.execute(UpdateUserCommand(admin, other.id, role=Role.USER))
    with pytest.raises(LastActiveAdmin):
        await update_user.execute(UpdateUserCommand(admin, admin.user.id, role=Role.USER))

    assert stored(uow, other).role is Role.USER
    assert stored(uow, admin.user).is_active_admin


async def test_an_admin_may_step_down_while_another_remains(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    other = seed.admin()

    await update_user.execute(UpdateUserCommand(admin, admin.user.id, is_active=False))

    assert not stored(uow, admin.user).is_active
    assert stored(uow, other).is_active_admin


async def test_demoting_an_inactive_admin_is_allowed(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    dormant = seed.admin(is_active=False)

    await update_user.execute(UpdateUserCommand(admin, dormant.id, role=Role.USER))

    assert stored(uow, dormant).role is Role.USER


async def test_last_active_admin_may_still_rename_themselves(
    update_user: UpdateUser, admin: Principal, uow: FakeUnitOfWork
) -> None:
    await update_user.execute(
        UpdateUserCommand(admin, admin.user.id, full_name="Root", role=Role.ADMIN, is_active=True)
    )

    assert stored(uow, admin.user).full_name == FullName("Root")


async def test_unknown_user_is_not_found(
    update_user: UpdateUser, admin: Principal, uow: FakeUnitOfWork
) -> None:
    with pytest.raises(UserNotFound):
        await update_user.execute(UpdateUserCommand(admin, UserId(UUID(int=404)), is_active=False))

    assert not uow.committed


async def test_non_admin_is_forbidden_and_cannot_promote_themselves(
    update_user: UpdateUser, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed()

    with pytest.raises(Forbidden):
        await update_user.execute(UpdateUserCommand(Principal(user=user), user.id, role=Role.ADMIN))

    assert stored(uow, user).role is Role.USER


async def test_invalid_full_name_changes_nothing(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed(full_name="Ada")

    with pytest.raises(InvalidFullName):
        await update_user.execute(UpdateUserCommand(admin, user.id, full_name="x" * 201))

    assert stored(uow, user).full_name == FullName("Ada")


async def test_an_admin_demoted_since_their_request_began_cannot_change_privileges(
    update_user: UpdateUser, admin: Principal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    other_admin = Principal(user=seed.admin("other@example.com"))
    target = seed()
    # `admin` authenticated as an admin, then lost the role before its change ran.
    await update_user.execute(UpdateUserCommand(other_admin, admin.user.id, role=Role.USER))

    with pytest.raises(Forbidden):
        await update_user.execute(UpdateUserCommand(admin, target.id, role=Role.ADMIN))

    assert stored(uow, target).role is Role.USER
