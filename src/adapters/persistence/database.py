"""Engines and sessions: pool settings for PostgreSQL, safe transaction handling for SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from adapters.persistence.errors import NOT_MIGRATED_MESSAGE, translate_errors
from application.errors import StorageNotMigrated
from application.ports.persistence import DatabaseProbe

T = TypeVar("T")

# Well under the idle timeouts of common proxies and managed databases (PgBouncer, RDS, Azure),
# so the pool never hands out a connection the network has already dropped.
POOL_RECYCLE_SECONDS = 1800

# A readiness probe must answer before the orchestrator's own probe timeout gives up on it.
PING_TIMEOUT_SECONDS = 5.0

# How long a SQLite connection waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

# Where Alembic (`accounts migrate`) records the schema's revision: no row, no schema.
VERSION_QUERY = "SELECT version_num FROM alembic_version"


def create_engine(
    url: str,
    *,
    pool_size: int,
    max_overflow: int,
    pool_timeout: float,
    echo: bool = False,
    connect_timeout: float = 10.0,
) -> AsyncEngine:
    """An async engine for `url`; pool settings apply to PostgreSQL, SQLite ignores them.

    A SQLite file must exist: only migrations create it, so a path that is wrong (a relative
    one read from another directory) fails instead of leaving an empty database behind.
    """
    parsed = make_url(url)
    if _is_sqlite(parsed):
        return _create_sqlite_engine(_existing_file_only(parsed), echo=echo)
    return _create_async_engine(
        parsed,
        echo=echo,
        # Overflow connections are kept once opened (no churn of Postgres backends under steady
        # load; bench/RESULTS.md); the ceiling is unchanged: pool_size + max_overflow.
        pool_size=pool_size + max_overflow,
        max_overflow=0,
        pool_timeout=pool_timeout,
        # No pre-ping: on asyncpg it is BEGIN; SELECT; ROLLBACK at every checkout, three round
        # trips before each request's own query. A connection that died while pooled fails on
        # first use instead; SQLAlchemy then invalidates it and every connection pooled before
        # it, so one request sees the failure (503, or a read retried, see `retry_once`).
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=_connect_args(parsed, connect_timeout),
    )


def create_migration_engine(url: str) -> AsyncEngine:
    """An engine without a pool, for one-off work such as running migrations."""
    parsed = make_url(url)
    if _is_sqlite(parsed):
        return _create_sqlite_engine(parsed, echo=False, poolclass=NullPool)
    return _create_async_engine(parsed, poolclass=NullPool)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no lazy reload in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Read the schema's revision: raises `StorageNotMigrated` when the database has none (or
    its SQLite file does not exist), `StorageUnavailable` when it does not answer in time."""
    database = sqlite_file(engine.url)
    if database is not None and not database.exists():
        raise StorageNotMigrated(NOT_MIGRATED_MESSAGE)

    async def revision() -> object:
        async with engine.connect() as connection:
            return (await connection.execute(text(VERSION_QUERY))).scalar()

    with translate_errors():
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            if await retry_once(revision) is None:
                raise StorageNotMigrated(NOT_MIGRATED_MESSAGE)


class SqlAlchemyDatabaseProbe(DatabaseProbe):
    """The readiness check of the engine's database (`ping`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check(self) -> None:
        await ping(self._engine)


def sqlite_file(url: URL | str) -> Path | None:
    """The file a SQLite URL names, as an absolute path; None for Postgres or in memory."""
    parsed = make_url(url)
    database = parsed.database
    if not _is_sqlite(parsed) or not database or database == ":memory:":
        return None
    if parsed.query.get("uri") == "true":
        database = unquote(database.removeprefix("file:"))
    return Path(database).resolve()


def describe(url: str) -> tuple[str, str]:
    """For a message to an operator: where `url` points (a SQLite file's absolute path, or a
    server's `host:port/database`), and `url` itself without its password."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    database = sqlite_file(parsed)
    if database is not None:
        return str(database), shown
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}", shown


async def retry_once(read: Callable[[], Awaitable[T]]) -> T:
    """Run `read`, once more if its pooled connection turned out dead (a database restart).

    Only for work that is safe to repeat (reads): SQLAlchemy has invalidated the dead
    connection and the pool's older ones, so the second try gets a fresh connection.
    """
    try:
        return await read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return await read()


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _connect_args(url: URL, connect_timeout: float) -> dict[str, Any]:
    # asyncpg waits 60 s for a connection by default: far too long for a readiness probe.
    if url.get_driver_name() == "asyncpg":
        return {"timeout": connect_timeout}
    return {}


def _existing_file_only(url: URL) -> URL:
    """The same SQLite database, opened read-write without creating it (a SQLite URI)."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri") == "true":
        return url
    return url.set(
        database=f"file:{quote(database)}", query={**url.query, "mode": "rw", "uri": "true"}
    )


def _create_sqlite_engine(
    url: URL, *, echo: bool, poolclass: type[NullPool] | None = None
) -> AsyncEngine:
    options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
    if poolclass is not None:
        options["poolclass"] = poolclass
    engine = _create_async_engine(url, echo=echo, **options)
    sync_engine = engine.sync_engine

    # The recipe from SQLAlchemy's SQLite dialect documentation: take BEGIN away from the
    # sqlite3 module and emit BEGIN IMMEDIATE ourselves. A deferred BEGIN lets two writers both
    # start reading and then fails one with "database is locked" when it tries to write; an
    # immediate one takes the write lock up front, so writers queue on the busy timeout instead.
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            # Commits append to a log instead of rewriting pages, and readers outside this
            # engine (backups, the sqlite3 shell) are not blocked by our writers.
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
