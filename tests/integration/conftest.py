"""Fixtures for tests against a real PostgreSQL: one fresh database per test session.

The server comes from `TEST_DATABASE_URL` or, failing that, a testcontainers PostgreSQL.
Without either the tests are skipped locally, but fail on CI (`CI=true`), where a silent skip
would hide that nothing was tested.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_plain_engine
from sqlalchemy.pool import NullPool

from adapters.persistence import migrator
from adapters.persistence.database import create_engine, create_session_factory
from adapters.persistence.tables import metadata
from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork, unit_of_work_factory
from tests.integration.servers import PrivateRedis

INTEGRATION_DIRECTORY = Path(__file__).resolve().parent
POSTGRES_IMAGE = "postgres:17-alpine"
NO_POSTGRES = "integration: no TEST_DATABASE_URL and no Docker engine for testcontainers"
NO_REDIS = "integration: no TEST_REDIS_URL (redis://host:port/db) for the rate-limit tests"
NO_REDIS_SERVER = "integration: no redis-server binary on PATH for the Redis outage tests"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration, so `-m "not integration"` leaves it out."""
    for item in items:
        if item.path.is_relative_to(INTEGRATION_DIRECTORY):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """An asyncpg URL of a PostgreSQL server on which the tests may create databases."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        if make_url(url).get_backend_name() != "postgresql":
            pytest.fail("TEST_DATABASE_URL must point at PostgreSQL (postgresql+asyncpg://...).")
        yield url
        return
    if not _docker_answers():
        skip_or_fail(NO_POSTGRES)
    # Imported late: only this branch needs testcontainers, and importing it is slow.
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415

    with PostgresContainer(POSTGRES_IMAGE, driver="asyncpg") as container:
        yield container.get_connection_url()


def skip_or_fail(reason: str) -> None:
    """Skip with one line locally; fail on CI, where a silent skip would hide untested code."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The shared Redis of `TEST_REDIS_URL`. Tests use their own key prefix, never FLUSHDB."""
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        skip_or_fail(NO_REDIS)
    return url


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A `redis-server` of the test's own on a free port, which it may stop and restart."""
    try:
        server = PrivateRedis(tmp_path)
    except FileNotFoundError:
        skip_or_fail(NO_REDIS_SERVER)
        raise
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A database created for this test session and dropped after it."""
    async with fresh_database(postgres_server_url) as url:
        yield url


@pytest.fixture(scope="session")
async def migrated_database_url(database_url: str) -> str:
    """`database_url`, upgraded to the newest migration once per session."""
    await asyncio.to_thread(migrator.upgrade, database_url)
    return database_url


@pytest.fixture
async def clean_tables(migrated_database_url: str) -> AsyncIterator[None]:
    """Empty every table after the test, so no test sees another's rows."""
    yield
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = create_plain_engine(migrated_database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            # A test that leaked an open transaction must fail the run, not hang it.
            await connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            await connection.execute(text(f"TRUNCATE TABLE {tables}"))
    finally:
        await engine.dispose()


@pytest.fixture
def backend_url(migrated_database_url: str, clean_tables: None) -> str:
    """The database `engine` connects to; a test module may override it to add backends."""
    return migrated_database_url


@pytest.fixture
async def engine(backend_url: str) -> AsyncIterator[AsyncEngine]:
    """The service's own engine set-up, with a pool large enough for the concurrency tests."""
    engine = create_engine(backend_url, pool_size=5, max_overflow=15, pool_timeout=10)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions configured as the service configures them."""
    return create_session_factory(engine)


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession],
) -> Callable[[], SqlAlchemyUnitOfWork]:
    """Makes a fresh unit of work per call, like the one the use cases receive."""
    return unit_of_work_factory(session_factory)


def per_database_backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """For a module's `backend_url` override parametrized over `["postgresql", "sqlite"]`:
    the session's migrated Postgres database (emptied after the test), or a new SQLite file."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'accounts.db'}"
        run_in_thread(migrator.upgrade, url)
        return url
    request.getfixturevalue("clean_tables")
    url = request.getfixturevalue("migrated_database_url")
    assert isinstance(url, str)
    return url


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """Create a uniquely named, empty database on the server; drop it on exit."""
    name = f"accounts_test_{secrets.token_hex(6)}"
    admin = create_plain_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                # FORCE: a connection a failed test left open must not keep the database alive.
                await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


def run_in_thread(function: Callable[[str], None], url: str) -> None:
    """Run a migrator call from sync code that may share a thread with pytest-asyncio's loop."""
    # The migrator's asyncio.run would otherwise reset this thread's event loop when it ends.
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(function, url).result()


def _docker_answers() -> bool:
    # Imported late, like testcontainers: a run against TEST_DATABASE_URL never needs it.
    import docker  # noqa: PLC0415
    from docker.errors import DockerException  # noqa: PLC0415

    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (DockerException, OSError):
        return False
