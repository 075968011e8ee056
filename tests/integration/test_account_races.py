"""What happens to a user's sessions and account when requests race, on PostgreSQL's locks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.system.ids import UuidV7Generator
from application.errors import Forbidden, InvalidCredentials, InvalidToken
from application.principal import Principal
from application.sessions import SessionIssuer
from application.use_cases.authenticate_with_password import (
    AuthenticateWithPassword,
    PasswordGrantCommand,
)
from application.use_cases.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.refresh_access_token import RefreshAccessToken, RefreshGrantCommand
from domain.users import EmailAddress, FullName, PasswordPolicy, Role, User, UserId
from tests.fakes import FakePasswordHasher, FixedClock, SequentialSecrets
from tests.integration.stored import NOW, UowFactory, a_session, a_user, session_issuer

PASSWORD = "correct-horse-battery-staple-42"
CHILD_TABLES = ("sessions", "refresh_tokens", "api_keys", "external_identities")
# Long enough for the waiting side to reach its lock on a loaded machine.
SETTLE_SECONDS = 0.5


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sessions(clock: FixedClock) -> SessionIssuer:
    return session_issuer(clock)


async def rows_of(engine: AsyncEngine, user: User) -> dict[str, int]:
    """How many rows each table holds for `user`."""
    counts = {}
    async with engine.connect() as connection:
        for table in (*CHILD_TABLES, "users"):
            column = "id" if table == "users" else "user_id"
            result = await connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE {column} = :id"),  # noqa: S608 - fixed names
                {"id": user.id},
            )
            counts[table] = int(result.scalar_one())
    return counts


async def an_admin(uow_factory: UowFactory, number: int) -> User:
    user = await a_user(uow_factory, number)
    async with uow_factory() as uow:
        stored = await uow.users.get_by_id(user.id, for_update=True)
        assert stored is not None
        stored.change_role(Role.ADMIN, NOW)
        await uow.users.update(stored)
        await uow.commit()
    return stored


async def test_a_refresh_waiting_on_ending_every_session_loses(
    uow_factory: UowFactory, sessions: SessionIssuer, clock: FixedClock
) -> None:
    user = await a_user(uow_factory)
    _, secret = await a_session(uow_factory, sessions, user)
    refresh = RefreshAccessToken(uow_factory, sessions, clock)

    async with uow_factory() as ending:
        await ending.sessions.end_all_of(user.id, NOW)
        waiting = asyncio.create_task(refresh.execute(RefreshGrantCommand(secret)))
        await asyncio.sleep(SETTLE_SECONDS)
        assert not waiting.done(), "the refresh should wait for the session's lock"
        await ending.commit()

    with pytest.raises(InvalidCredentials):
        await waiting


async def test_deleting_an_account_during_its_refresh_leaves_nothing(
    uow_factory: UowFactory, sessions: SessionIssuer, clock: FixedClock, engine: AsyncEngine
) -> None:
    user = await a_user(uow_factory)
    _, secret = await a_session(uow_factory, sessions, user)
    refresh = RefreshAccessToken(uow_factory, sessions, clock)

    async with uow_factory() as deleting:
        await deleting.users.lock_active_admin_ids()
        assert await deleting.users.get_by_id(user.id, for_update=True) is not None
        waiting = asyncio.create_task(refresh.execute(RefreshGrantCommand(secret)))
        await asyncio.sleep(SETTLE_SECONDS)
        assert not waiting.done(), "the refresh should wait for the account's lock"
        await deleting.users.delete(user.id)
        await deleting.commit()

    with pytest.raises(InvalidCredentials):
        await waiting
    assert await rows_of(engine, user) == dict.fromkeys((*CHILD_TABLES, "users"), 0)


async def test_a_key_created_while_its_owner_is_deleted_leaves_no_row(
    uow_factory: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    user = await a_user(uow_factory)
    create = CreateApiKey(
        uow_factory, clock, UuidV7Generator(), SequentialSecrets(), keys_per_user=5
    )

    async with uow_factory() as deleting:
        await deleting.users.get_by_id(user.id, for_update=True)
        waiting = asyncio.create_task(
            create.execute(CreateApiKeyCommand(principal=Principal(user=user), name="bot"))
        )
        await asyncio.sleep(SETTLE_SECONDS)
        await deleting.users.delete(user.id)
        await deleting.commit()

    with pytest.raises(InvalidToken):
        await waiting
    assert await rows_of(engine, user) == dict.fromkeys((*CHILD_TABLES, "users"), 0)


async def test_a_login_finishing_after_its_account_was_deleted_fails_and_leaves_no_row(
    uow_factory: UowFactory, sessions: SessionIssuer, clock: FixedClock, engine: AsyncEngine
) -> None:
    hasher = FakePasswordHasher()
    user = User.register(
        user_id=UserId(UUID(int=77)),
        email=EmailAddress("ada@example.com"),
        full_name=FullName(""),
        password_hash=hasher.hash_now(PASSWORD),
        now=NOW,
    )
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    login = AuthenticateWithPassword(uow_factory, hasher, sessions, clock, PasswordPolicy())

    async with uow_factory() as deleting:
        await deleting.users.get_by_id(user.id, for_update=True)
        waiting = asyncio.create_task(
            login.execute(PasswordGrantCommand("ada@example.com", PASSWORD))
        )
        await asyncio.sleep(SETTLE_SECONDS)
        assert not waiting.done(), "the new session's row should wait for the account's lock"
        await deleting.users.delete(user.id)
        await deleting.commit()

    # The insert met the foreign key of a deleted account: AccountDeleted, told as a bad login.
    with pytest.raises(InvalidCredentials):
        await waiting
    assert await rows_of(engine, user) == dict.fromkeys((*CHILD_TABLES, "users"), 0)


async def test_postgres_cascades_remove_everything_attached_to_a_user(
    uow_factory: UowFactory, sessions: SessionIssuer, engine: AsyncEngine
) -> None:
    user, other = await a_user(uow_factory, 1), await a_user(uow_factory, 2)
    for owner in (user, other):
        await a_session(uow_factory, sessions, owner)
        async with uow_factory() as uow:
            await uow.external_identities.link("https://idp.example", str(owner.id), owner.id, NOW)
            await uow.commit()
    before = await rows_of(engine, user)

    # The database alone, not the repository's explicit deletes: the foreign keys cascade.
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})

    assert before == {**dict.fromkeys(CHILD_TABLES, 1), "api_keys": 0, "users": 1}
    assert await rows_of(engine, user) == dict.fromkeys((*CHILD_TABLES, "users"), 0)
    assert (await rows_of(engine, other))["sessions"] == 1


@pytest.mark.parametrize("rounds", [3])
async def test_two_admins_deleting_each_other_at_once_leave_one(
    uow_factory: UowFactory, clock: FixedClock, rounds: int
) -> None:
    delete = DeleteAccount(uow_factory, clock, timedelta(minutes=5))
    for round_ in range(rounds):
        ada = await an_admin(uow_factory, 10 * round_ + 1)
        bob = await an_admin(uow_factory, 10 * round_ + 2)
        as_ada = Principal(user=ada, auth_time=NOW)
        as_bob = Principal(user=bob, auth_time=NOW)

        outcomes: list[Any] = await asyncio.gather(
            delete.execute(DeleteAccountCommand(as_ada, bob.id)),
            delete.execute(DeleteAccountCommand(as_bob, ada.id)),
            return_exceptions=True,
        )

        assert sum(outcome is None for outcome in outcomes) == 1, outcomes
        assert all(o is None or isinstance(o, Forbidden) for o in outcomes), outcomes
        async with uow_factory() as uow:
            assert len(await uow.users.lock_active_admin_ids()) == 1
            remaining = await uow.users.lock_active_admin_ids()
            await uow.users.delete(remaining[0])
            await uow.commit()
