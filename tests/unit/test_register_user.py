from __future__ import annotations

import pytest

from application.errors import EmailAlreadyRegistered
from application.ports import PasswordVerification
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.errors import InvalidEmail, InvalidFullName, WeakPassword
from domain.users import EmailAddress, FullName, HashedPassword, PasswordPolicy, Role
from tests.fakes import (
    FakePasswordHasher,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    audit_events,
    mail_links,
)
from tests.unit.builders import PASSWORD, UserSeeder


@pytest.fixture
def register(
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    ids: SequentialIds,
    policy: PasswordPolicy,
) -> RegisterUser:
    return RegisterUser(
        uow.factory, hasher, clock, ids, policy, events=audit_events(), links=mail_links()
    )


async def test_stores_an_active_user_with_the_user_role(
    register: RegisterUser, uow: FakeUnitOfWork, hasher: FakePasswordHasher, clock: FixedClock
) -> None:
    user = await register.execute(
        RegisterUserCommand(email=" Ada@Example.COM ", password=PASSWORD, full_name=" Ada  L ")
    )

    assert uow.store.all() == [user]
    stored = uow.store.all()[0]
    assert stored.email.value == "Ada@example.com"
    assert stored.full_name == FullName("Ada L")
    assert stored.role is Role.USER
    assert stored.is_active
    assert stored.version == 1
    assert stored.created_at == clock.now()
    assert PASSWORD not in stored.password_hash.value
    assert await hasher.verify(PASSWORD, stored.password_hash) == PasswordVerification(valid=True)


async def test_stores_an_active_admin_when_asked_for_one(
    register: RegisterUser, uow: FakeUnitOfWork, hasher: FakePasswordHasher
) -> None:
    admin = await register.execute(
        RegisterUserCommand("root@example.com", PASSWORD, full_name="Root", role=Role.ADMIN)
    )

    assert uow.committed
    [stored] = uow.store.all()
    assert stored == admin
    assert stored.role is Role.ADMIN
    assert stored.is_active
    assert stored.full_name == FullName("Root")
    assert (await hasher.verify(PASSWORD, stored.password_hash)).valid
    assert await uow.store.lock_active_admin_ids() == [admin.id]


async def test_each_registration_gets_a_new_id(register: RegisterUser) -> None:
    first = await register.execute(RegisterUserCommand("a@example.com", PASSWORD))
    second = await register.execute(RegisterUserCommand("b@example.com", PASSWORD))

    assert first.id != second.id


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("too short", id="short"),
        pytest.param("password1234567890", id="blocklisted"),
        pytest.param("ada@example.com", id="own-email"),
    ],
)
@pytest.mark.parametrize("role", [Role.USER, Role.ADMIN])
async def test_weak_password_stores_nothing_and_computes_no_hash(
    register: RegisterUser,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    password: str,
    role: Role,
) -> None:
    with pytest.raises(WeakPassword):
        await register.execute(RegisterUserCommand("ada@example.com", password, role=role))

    assert uow.store.all() == []
    assert hasher.hash_calls == 0


@pytest.mark.parametrize("role", [Role.USER, Role.ADMIN])
async def test_email_registered_in_another_case_is_refused_and_nothing_committed(
    register: RegisterUser, uow: FakeUnitOfWork, seed: UserSeeder, role: Role
) -> None:
    existing = seed("ada@example.com", full_name="Original")

    with pytest.raises(EmailAlreadyRegistered):
        await register.execute(
            RegisterUserCommand("ADA@Example.com", PASSWORD, full_name="Impostor", role=role)
        )

    assert not uow.committed
    assert uow.store.all() == [existing]
    assert uow.store.all()[0].full_name == FullName("Original")
    assert uow.store.all()[0].role is Role.USER


@pytest.mark.parametrize("role", [Role.USER, Role.ADMIN])
async def test_invalid_email_is_refused(
    register: RegisterUser, uow: FakeUnitOfWork, hasher: FakePasswordHasher, role: Role
) -> None:
    with pytest.raises(InvalidEmail):
        await register.execute(RegisterUserCommand("not-an-email", PASSWORD, role=role))

    assert uow.store.all() == []
    assert hasher.hash_calls == 0


async def test_invalid_full_name_is_refused(register: RegisterUser, uow: FakeUnitOfWork) -> None:
    with pytest.raises(InvalidFullName):
        await register.execute(RegisterUserCommand("ada@example.com", PASSWORD, "x" * 201))

    assert uow.store.all() == []


async def test_hashes_outside_the_transaction(
    uow: FakeUnitOfWork, clock: FixedClock, ids: SequentialIds, policy: PasswordPolicy
) -> None:
    # A slow hash inside a transaction would hold a database connection for its whole duration.
    seen_in_transaction: list[bool] = []

    class WatchingHasher(FakePasswordHasher):
        async def hash(self, password: str) -> HashedPassword:
            seen_in_transaction.append(uow.in_transaction)
            return await super().hash(password)

    register = RegisterUser(
        uow.factory, WatchingHasher(), clock, ids, policy, events=audit_events(), links=mail_links()
    )

    await register.execute(RegisterUserCommand("ada@example.com", PASSWORD))

    assert seen_in_transaction == [False]
    assert await uow.store.get_by_email(EmailAddress("ada@example.com")) is not None
