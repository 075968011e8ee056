from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import Forbidden, InvalidCredentials, InvalidCurrentPassword, InvalidToken
from application.principal import AuthMethod, Principal
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from domain.errors import WeakPassword
from domain.users import EmailAddress, FullName, PasswordPolicy, Role, User, UserId
from tests.fakes import FakePasswordHasher, FakeUnitOfWork, FixedClock
from tests.unit.builders import PASSWORD, SessionFlows, UserSeeder

NEW_PASSWORD = "a brand new passphrase, long enough"


@pytest.fixture
def change_password(
    uow: FakeUnitOfWork, hasher: FakePasswordHasher, clock: FixedClock, policy: PasswordPolicy
) -> ChangePassword:
    return ChangePassword(uow.factory, hasher, clock, policy)


def stored(uow: FakeUnitOfWork, user: User) -> User:
    found = uow.store.find(user.id)
    assert found is not None
    return found


async def test_success_stores_the_new_hash(
    change_password: ChangePassword,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    user = seed()
    clock.advance(timedelta(hours=1))

    await change_password.execute(ChangePasswordCommand(Principal(user), PASSWORD, NEW_PASSWORD))

    after = stored(uow, user)
    assert after.password_hash is not None
    assert (await hasher.verify(NEW_PASSWORD, after.password_hash)).valid
    assert not (await hasher.verify(PASSWORD, after.password_hash)).valid
    assert after.updated_at == clock.now()
    assert after.version == 2


async def test_the_new_password_opens_the_account_and_the_old_one_no_longer(
    change_password: ChangePassword, auth: SessionFlows, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")

    await change_password.execute(ChangePasswordCommand(Principal(user), PASSWORD, NEW_PASSWORD))

    await auth.login(user, NEW_PASSWORD)
    with pytest.raises(InvalidCredentials):
        await auth.login(user)


async def test_success_ends_every_session_of_the_user_and_no_one_elses(
    change_password: ChangePassword,
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    user = seed()
    other = seed()
    laptop = await auth.login(user)
    phone = await auth.login(user)
    theirs = await auth.login(other)
    principal = await auth.resolve(laptop.access_token.value)
    clock.advance(timedelta(minutes=1))

    await change_password.execute(ChangePasswordCommand(principal, PASSWORD, NEW_PASSWORD))

    mine = [f for f in uow.session_store.sessions.values() if f.user_id == user.id]
    assert len(mine) == 2
    assert all(f.ended_at == clock.now() for f in mine)
    for issued in (laptop, phone):
        with pytest.raises(InvalidCredentials):
            await auth.refresh(issued.refresh_token)
        with pytest.raises(InvalidToken):
            await auth.resolve(issued.access_token.value)
    await auth.resolve(theirs.access_token.value)
    await auth.refresh(theirs.refresh_token)


@pytest.mark.parametrize(
    ("current", "verifications"),
    [
        pytest.param(PASSWORD + "!", 1, id="wrong"),
        # No password of these lengths is ever stored: refused without a hash, as at login.
        pytest.param("", 0, id="empty"),
        pytest.param("x" * 129, 0, id="overlong"),
    ],
)
async def test_wrong_current_password_changes_nothing(
    *,
    change_password: ChangePassword,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    current: str,
    verifications: int,
) -> None:
    user = seed()
    commits, before = uow.commit_count, hasher.verifications

    with pytest.raises(InvalidCurrentPassword):
        await change_password.execute(ChangePasswordCommand(Principal(user), current, NEW_PASSWORD))

    assert uow.commit_count == commits
    assert hasher.verifications == before + verifications
    after = stored(uow, user)
    assert after.password_hash == user.password_hash
    assert after.version == 1


async def test_a_refused_change_ends_no_session(
    change_password: ChangePassword, auth: SessionFlows, seed: UserSeeder
) -> None:
    user = seed()
    issued = await auth.login(user)
    principal = await auth.resolve(issued.access_token.value)

    with pytest.raises(InvalidCurrentPassword):
        await change_password.execute(ChangePasswordCommand(principal, "wrong", NEW_PASSWORD))
    with pytest.raises(WeakPassword):
        await change_password.execute(ChangePasswordCommand(principal, PASSWORD, "short"))

    await auth.resolve(issued.access_token.value)
    await auth.refresh(issued.refresh_token)


async def test_an_api_key_principal_is_forbidden(
    change_password: ChangePassword, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed()
    principal = Principal(user, method=AuthMethod.API_KEY, api_key_id=UUID(int=7))

    with pytest.raises(Forbidden):
        await change_password.execute(ChangePasswordCommand(principal, PASSWORD, NEW_PASSWORD))

    assert stored(uow, user).password_hash == user.password_hash


@pytest.mark.parametrize(
    "new_password",
    [
        pytest.param("short", id="short"),
        pytest.param("x" * 129, id="overlong"),
        pytest.param("password1234567890", id="blocklisted"),
        pytest.param("ada@example.com", id="own-email"),
    ],
)
async def test_a_weak_new_password_is_refused_and_names_its_field(
    change_password: ChangePassword,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    new_password: str,
) -> None:
    user = seed("ada@example.com")

    with pytest.raises(WeakPassword) as failure:
        await change_password.execute(
            ChangePasswordCommand(Principal(user), PASSWORD, new_password)
        )

    assert failure.value.field == "new_password"
    assert failure.value.code == "weak_password"
    assert stored(uow, user).password_hash == user.password_hash
    assert uow.commit_count == 0


async def test_a_user_without_a_password_cannot_change_it(
    change_password: ChangePassword,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    external = User.provision_external(
        user_id=UserId(UUID(int=500)),
        email=EmailAddress("ext@example.com"),
        full_name=FullName("Ext"),
        role=Role.USER,
        now=clock.now(),
    )
    uow.store.seed(external)

    with pytest.raises(InvalidCurrentPassword):
        await change_password.execute(
            ChangePasswordCommand(Principal(external), PASSWORD, NEW_PASSWORD)
        )

    assert stored(uow, external).password_hash is None
    assert hasher.dummy_calls == 1
    assert hasher.hash_calls == 0
