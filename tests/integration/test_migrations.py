"""The packaged Alembic migrations, run through `adapters.persistence.migrator`.

The migrator's env.py calls `asyncio.run`, so these async tests hand it to a worker thread,
exactly as a CLI command would call it from plain sync code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

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


_USER_ID = "00000000-0000-0000-0000-000000000001"
_SESSION_ID = "00000000-0000-0000-0000-000000000002"
_TOKEN_ID = "00000000-0000-0000-0000-000000000003"
_STARTED = "2026-11-01 10:00:00+00:00"


async def _execute(
    url: str, *statements: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run the statements in one transaction; the rows of the last one, as dictionaries."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            rows: list[dict[str, Any]] = []
            for statement in statements:
                result = await connection.execute(text(statement), params or {})
                rows = [dict(row) for row in result.mappings()] if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


def _as_text(rows: list[dict[str, Any]]) -> list[dict[str, str | None]]:
    """Values as strings: SQLite hands back text where PostgreSQL hands back UUIDs and dates."""
    return [
        {
            key: None if value is None else str(value).replace("-", "")[-12:]
            for key, value in row.items()
        }
        for row in rows
    ]


def _typed_for(url: str) -> dict[str, Any]:
    """asyncpg takes UUIDs and datetimes as such; sqlite3 takes their text."""
    ids = {"user": _USER_ID, "session": _SESSION_ID, "token": _TOKEN_ID}
    if url.startswith("sqlite"):
        return {**ids, "started": _STARTED}
    started = datetime.fromisoformat(_STARTED)
    return {**{key: UUID(value) for key, value in ids.items()}, "started": started}


async def assert_sessions_migration_keeps_logins(url: str) -> None:
    await asyncio.to_thread(migrator.upgrade, url, "0002")
    await _execute(
        url,
        "INSERT INTO users (id, email, full_name, role, is_active, password_hash, created_at,"
        " updated_at, version) VALUES (:user, 'ada@example.com', '', 'user', true, 'x',"
        " :started, :started, 1)",
        "INSERT INTO refresh_token_families (id, user_id, created_at, expires_at, revoked_at)"
        " VALUES (:session, :user, :started, :started, NULL)",
        "INSERT INTO refresh_tokens (id, family_id, user_id, digest, issued_at, expires_at,"
        " used_at) VALUES (:token, :session, :user, 'd1', :started, :started, NULL)",
        params=_typed_for(url),
    )

    await asyncio.to_thread(migrator.upgrade, url, "0003")

    sessions = await _execute(
        url, "SELECT id, amr, ended_at, client_ip, user_agent, created_at FROM sessions"
    )
    assert len(sessions) == 1
    assert sessions[0]["amr"] == "pwd"
    assert (sessions[0]["ended_at"], sessions[0]["client_ip"], sessions[0]["user_agent"]) == (
        None,
        None,
        None,
    )
    same_times = await _execute(
        url,
        "SELECT count(*) AS n FROM sessions WHERE last_used_at = created_at"
        " AND auth_time = created_at",
    )
    assert same_times[0]["n"] == 1
    tokens = await _execute(url, "SELECT id, session_id FROM refresh_tokens")
    assert _as_text(tokens) == _as_text([{"id": _TOKEN_ID, "session_id": _SESSION_ID}])

    await asyncio.to_thread(migrator.downgrade, url, "0002")

    families = await _execute(url, "SELECT id, revoked_at FROM refresh_token_families")
    assert _as_text(families) == _as_text([{"id": _SESSION_ID, "revoked_at": None}])
    tokens = await _execute(url, "SELECT id, family_id FROM refresh_tokens")
    assert _as_text(tokens) == _as_text([{"id": _TOKEN_ID, "family_id": _SESSION_ID}])


async def test_postgres_sessions_migration_keeps_existing_logins_both_ways(
    empty_postgres_url: str,
) -> None:
    await assert_sessions_migration_keeps_logins(empty_postgres_url)


async def test_sqlite_sessions_migration_keeps_existing_logins_both_ways(tmp_path: Path) -> None:
    await assert_sessions_migration_keeps_logins(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")


async def assert_actor_migration_keeps_account_actors(url: str) -> None:
    """0010 turns `audit_events.actor_id` into text: an account's id reads as the same UUID
    (hyphenated, as the application writes it), by the same index, and back again."""
    await asyncio.to_thread(migrator.upgrade, url, "0008")
    params = _typed_for(url)
    if url.startswith("sqlite"):
        # What SQLAlchemy's `Uuid` writes on SQLite: 32 hex digits, no hyphens.
        params["user"] = UUID(_USER_ID).hex
    await _execute(
        url,
        "INSERT INTO audit_events (id, occurred_at, type, actor_id, subject_id, details)"
        " VALUES (:token, :started, 'user.updated', :user, :user, '{}')",
        params=params,
    )

    await asyncio.to_thread(migrator.upgrade, url, "0010")

    rows = await _execute(
        url, "SELECT actor_id FROM audit_events WHERE actor_id = :actor", params={"actor": _USER_ID}
    )
    assert rows == [{"actor_id": _USER_ID}]
    await _execute(
        url,
        "INSERT INTO audit_events (id, occurred_at, type, actor_id, details)"
        " VALUES (:session, :started, 'user.updated', 'cli_aaaaaaaaaaaaaaaa', '{}')",
        params=params,
    )

    await asyncio.to_thread(migrator.downgrade, url, "0008")

    actors = await _execute(url, "SELECT id, actor_id FROM audit_events")
    by_event = {row["id"]: row["actor_id"] for row in _as_text(actors)}
    # The account's id is a UUID again; the client actor cannot be one, so it is forgotten.
    assert by_event == {_TOKEN_ID[-12:]: _USER_ID[-12:], _SESSION_ID[-12:]: None}


async def test_postgres_actor_migration_keeps_account_actors_both_ways(
    empty_postgres_url: str,
) -> None:
    await assert_actor_migration_keeps_account_actors(empty_postgres_url)


async def test_sqlite_actor_migration_keeps_account_actors_both_ways(tmp_path: Path) -> None:
    await assert_actor_migration_keeps_account_actors(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
