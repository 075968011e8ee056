"""The principal reader against real databases: one read of the user with their session, or of
an API key with its owner. Every test runs on PostgreSQL (autocommit) and on a SQLite file.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.gate import ConnectionGate
from adapters.persistence.principal_reader import SqlAlchemyPrincipalReader
from domain.credentials import ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.sessions import SessionId
from domain.users import FullName, Role, UserId
from tests.fakes import FixedClock
from tests.integration.conftest import per_database_backend
from tests.integration.stored import NOW, UowFactory, a_session, a_user, session_issuer


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides the conftest fixture: each test here runs once per supported database."""
    return per_database_backend(request, tmp_path)


@pytest.fixture
def reader(engine: AsyncEngine, gate: ConnectionGate) -> SqlAlchemyPrincipalReader:
    return SqlAlchemyPrincipalReader(engine, gate)


async def test_the_user_comes_back_with_whether_the_named_session_is_open(
    uow_factory: UowFactory, reader: SqlAlchemyPrincipalReader
) -> None:
    user = await a_user(uow_factory, full_name="Ada")
    family, _ = await a_session(uow_factory, session_issuer(FixedClock(NOW)), user)

    loaded, open_before = await reader.user_with_open_session(user.id, family.id)
    async with uow_factory() as uow:
        await uow.sessions.end_all_of(user.id, NOW)
        await uow.commit()
    _, open_after = await reader.user_with_open_session(user.id, family.id)

    assert loaded == user
    assert loaded is not None
    assert (loaded.full_name, loaded.role, loaded.is_active) == (FullName("Ada"), Role.USER, True)
    assert open_before is True
    assert open_after is False


async def test_another_users_session_is_not_open_for_this_one(
    uow_factory: UowFactory, reader: SqlAlchemyPrincipalReader
) -> None:
    owner = await a_user(uow_factory)
    other = await a_user(uow_factory, number=2)
    family, _ = await a_session(uow_factory, session_issuer(FixedClock(NOW)), owner)

    loaded, session_open = await reader.user_with_open_session(other.id, family.id)

    assert (loaded, session_open) == (other, False)


async def test_an_unknown_session_or_user_reads_as_not_open(
    uow_factory: UowFactory, reader: SqlAlchemyPrincipalReader
) -> None:
    user = await a_user(uow_factory)

    no_session = await reader.user_with_open_session(user.id, SessionId(UUID(int=99)))
    not_asked = await reader.user_with_open_session(user.id, None)
    nobody = await reader.user_with_open_session(UserId(UUID(int=42)), None)
    nobody_with_session = await reader.user_with_open_session(
        UserId(UUID(int=42)), SessionId(UUID(int=99))
    )

    assert no_session == (user, False)
    assert not_asked == (user, False)
    assert nobody == (None, False)
    assert nobody_with_session == (None, False)


async def test_an_api_key_comes_back_with_its_owner(
    uow_factory: UowFactory, reader: SqlAlchemyPrincipalReader
) -> None:
    user = await a_user(uow_factory)
    key = ParsedApiKey.compose("abcdefghij", "s" * 43)
    api_key = ApiKey.create(
        key_id=ApiKeyId(UUID(int=7)),
        user_id=user.id,
        name=ApiKeyName("bot"),
        key=key,
        now=NOW,
        expires_at=None,
    )
    async with uow_factory() as uow:
        await uow.api_keys.add(api_key)
        await uow.commit()

    found, owner = await reader.api_key_with_owner("acc_abcdefghij")
    missing = await reader.api_key_with_owner("acc_zzzzzzzzzz")

    parsed = ParsedApiKey.parse(key)
    assert parsed is not None
    assert found is not None
    assert found.id == api_key.id
    assert found.accepts(parsed, NOW)
    assert owner == user
    assert missing == (None, None)
