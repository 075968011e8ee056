from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import InvalidCredentials
from application.ports import PasswordVerification
from application.sessions import SessionIssuer
from application.use_cases.authenticate_with_password import (
    AuthenticateWithPassword,
    PasswordGrantCommand,
)
from domain.users import HashedPassword, PasswordPolicy, Role
from tests.fakes import (
    FakePasswordHasher,
    FakePseudonymizer,
    FakeTokens,
    FakeUnitOfWork,
    FixedClock,
    audit_events,
)
from tests.unit.builders import PASSWORD, UserSeeder


@pytest.fixture
def authenticate(
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    sessions: SessionIssuer,
    clock: FixedClock,
    policy: PasswordPolicy,
) -> AuthenticateWithPassword:
    return AuthenticateWithPassword(
        uow.factory,
        hasher,
        sessions,
        clock,
        policy,
        events=audit_events(),
        pseudonyms=FakePseudonymizer(),
    )


@pytest.mark.parametrize("username", ["ada@example.com", "  ADA@Example.COM "])
async def test_issues_a_token_for_the_user(
    authenticate: AuthenticateWithPassword,
    seed: UserSeeder,
    tokens: FakeTokens,
    clock: FixedClock,
    username: str,
) -> None:
    user = seed("ada@example.com", role=Role.ADMIN)

    issued = await authenticate.execute(PasswordGrantCommand(username, PASSWORD))

    claims = tokens.verify_access_token(issued.access_token.value)
    assert claims.subject == user.id
    assert claims.role is Role.ADMIN
    assert claims.issued_at == clock.now()
    assert issued.access_token.expires_at == clock.now() + timedelta(minutes=15)


async def test_wrong_password_is_invalid_credentials(
    authenticate: AuthenticateWithPassword, seed: UserSeeder
) -> None:
    seed("ada@example.com")

    with pytest.raises(InvalidCredentials):
        await authenticate.execute(PasswordGrantCommand("ada@example.com", PASSWORD + "!"))


@pytest.mark.parametrize(
    "username",
    [pytest.param("nobody@example.com", id="unknown"), pytest.param("not an email", id="bad")],
)
async def test_unknown_or_malformed_email_still_costs_one_verification(
    authenticate: AuthenticateWithPassword,
    seed: UserSeeder,
    hasher: FakePasswordHasher,
    username: str,
) -> None:
    # Answering faster for accounts that do not exist would let anyone enumerate them.
    seed("ada@example.com")

    with pytest.raises(InvalidCredentials):
        await authenticate.execute(PasswordGrantCommand(username, PASSWORD))

    assert hasher.verifications == 1
    assert hasher.dummy_calls == 1


async def test_inactive_account_is_invalid_credentials_even_with_the_right_password(
    authenticate: AuthenticateWithPassword, seed: UserSeeder, hasher: FakePasswordHasher
) -> None:
    seed("ada@example.com", is_active=False)

    with pytest.raises(InvalidCredentials):
        await authenticate.execute(PasswordGrantCommand("ada@example.com", PASSWORD))

    assert hasher.verifications == 1


@pytest.mark.parametrize(
    "password",
    [pytest.param("x" * 129, id="over-long"), pytest.param("x" * 1_000_000, id="megabyte")],
)
async def test_over_long_password_is_refused_without_hashing(
    authenticate: AuthenticateWithPassword,
    seed: UserSeeder,
    hasher: FakePasswordHasher,
    password: str,
) -> None:
    seed("ada@example.com")

    with pytest.raises(InvalidCredentials):
        await authenticate.execute(PasswordGrantCommand("ada@example.com", password))

    assert hasher.verifications == 0


async def test_empty_password_is_invalid_credentials(
    authenticate: AuthenticateWithPassword, seed: UserSeeder
) -> None:
    seed("ada@example.com")

    with pytest.raises(InvalidCredentials):
        await authenticate.execute(PasswordGrantCommand("ada@example.com", ""))


async def test_every_failure_reads_the_same(
    authenticate: AuthenticateWithPassword, seed: UserSeeder
) -> None:
    seed("ada@example.com")
    seed("off@example.com", is_active=False)
    attempts = [
        PasswordGrantCommand("ada@example.com", "wrong password!!"),
        PasswordGrantCommand("nobody@example.com", PASSWORD),
        PasswordGrantCommand("malformed", PASSWORD),
        PasswordGrantCommand("off@example.com", PASSWORD),
        PasswordGrantCommand("ada@example.com", "x" * 129),
    ]
    messages = set()

    for attempt in attempts:
        with pytest.raises(InvalidCredentials) as failure:
            await authenticate.execute(attempt)
        messages.add(str(failure.value))

    assert len(messages) == 1


async def test_stores_the_upgraded_hash_on_login(
    authenticate: AuthenticateWithPassword,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    user = seed("ada@example.com", hash_params="v0")
    clock.advance(timedelta(days=30))

    await authenticate.execute(PasswordGrantCommand("ada@example.com", PASSWORD))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.password_hash == hasher.hash_now(PASSWORD, "v1")
    assert stored.password_hash != user.password_hash
    assert stored.version == 2
    assert stored.updated_at == clock.now()
    # The new hash still opens the account, and no further upgrade is due.
    await authenticate.execute(PasswordGrantCommand("ada@example.com", PASSWORD))
    again = uow.store.find(user.id)
    assert again is not None
    assert (again.password_hash, again.version) == (stored.password_hash, 2)


async def test_leaves_a_current_hash_alone(
    authenticate: AuthenticateWithPassword, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed("ada@example.com")

    await authenticate.execute(PasswordGrantCommand("ada@example.com", PASSWORD))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.password_hash == user.password_hash
    assert stored.version == 1


async def test_wrong_password_never_upgrades_the_hash(
    authenticate: AuthenticateWithPassword, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed("ada@example.com", hash_params="v0")

    with pytest.raises(InvalidCredentials):
        await authenticate.execute(PasswordGrantCommand("ada@example.com", "wrong password!!"))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.password_hash == user.password_hash


async def test_rehash_does_not_overwrite_a_password_changed_meanwhile(
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    sessions: SessionIssuer,
    clock: FixedClock,
    policy: PasswordPolicy,
) -> None:
    user = seed("ada@example.com", hash_params="v0")
    changed = HashedPassword("$fake$v1$6e65772070617373776f7264")

    class PasswordChangesDuringVerify(FakePasswordHasher):
        async def verify(self, password: str, hashed: HashedPassword) -> PasswordVerification:
            # Hashing runs outside any transaction, so another request can commit meanwhile.
            assert not uow.in_transaction
            async with uow:
                current = await uow.users.get_by_id(user.id)
                assert current is not None
                current.change_password_hash(changed, clock.now())
                await uow.users.update(current)
                await uow.commit()
            return await super().verify(password, hashed)

    authenticate = AuthenticateWithPassword(
        uow.factory,
        PasswordChangesDuringVerify(),
        sessions,
        clock,
        policy,
        events=audit_events(),
        pseudonyms=FakePseudonymizer(),
    )

    await authenticate.execute(PasswordGrantCommand("ada@example.com", PASSWORD))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.password_hash == changed
