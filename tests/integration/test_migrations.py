"""The packaged Alembic migrations, run through `adapters.persistence.migrator`.

The migrator's env.py calls `asyncio.run`, so these async tests hand it to a worker thread,
exactly as a CLI command would call it from plain sync code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence import migrator
from adapters.persistence.tables import metadata
from tests.integration.conftest import fresh_database

USERS_INDEXES = {"uq_users_email_lower", "ix_users_role_is_active"}


@pytest.fixture
async def empty_postgres_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of its own, so the migration round trip cannot disturb other tests."""
    async with fresh_database(postgres_server_url) as url:
        yield url


async def schema_of(url: str) -> tuple[set[str], set[str]]:
    """Table names, and the names of the indexes on `users` when that table exists."""

    def read(connection: Connection) -> tuple[set[str], set[str]]:
        tables = set(inspect(connection).get_table_names())
        # Straight from the catalog: SQLite cannot reflect expression indexes such as lower(email).
        if connection.dialect.name == "sqlite":
            catalog = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'"
        else:
            catalog = "SELECT indexname FROM pg_indexes WHERE tablename = 'users'"
        indexes = {str(name) for name in connection.execute(text(catalog)).scalars()}
        return tables, indexes

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def assert_round_trip(url: str) -> None:
    head = migrator.head()
    assert head is not None
    assert await asyncio.to_thread(migrator.current, url) is None

    await asyncio.to_thread(migrator.upgrade, url)
    assert await asyncio.to_thread(migrator.current, url) == head
    tables, indexes = await schema_of(url)
    assert "users" in tables
    assert indexes >= USERS_INDEXES

    await asyncio.to_thread(migrator.downgrade, url)
    assert await asyncio.to_thread(migrator.current, url) is None
    tables, _ = await schema_of(url)
    assert tables <= {"alembic_version"}

    await asyncio.to_thread(migrator.upgrade, url, "head")
    assert await asyncio.to_thread(migrator.current, url) == head
    tables, indexes = await schema_of(url)
    assert "users" in tables
    assert indexes >= USERS_INDEXES


async def test_postgres_upgrades_to_head_downgrades_to_base_and_upgrades_again(
    empty_postgres_url: str,
) -> None:
    await assert_round_trip(empty_postgres_url)


async def test_sqlite_upgrades_to_head_downgrades_to_base_and_upgrades_again(
    tmp_path: Path,
) -> None:
    await assert_round_trip(f"sqlite+aiosqlite:///{tmp_path / 'accounts.db'}")


async def test_migrated_postgres_schema_matches_the_table_definitions(
    migrated_database_url: str,
) -> None:
    def differences(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    engine = create_async_engine(migrated_database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
