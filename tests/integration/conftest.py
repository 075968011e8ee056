"""Fixtures for tests against a real PostgreSQL and Redis: one fresh database per test session.

Each server is found in this order, so a plain `make test` on a fresh machine runs everything:
PostgreSQL from `TEST_DATABASE_URL`; else the local server on 127.0.0.1:5432 (user postgres,
trust auth); else a private cluster of the session's own from the machine's `initdb` and
`pg_ctl`; else a testcontainers PostgreSQL when a Docker engine answers. Redis from
`TEST_REDIS_URL`; else the local server on 127.0.0.1:6379; else a private `redis-server`; else a
testcontainers Redis. Only when none can be had are the tests that need it skipped, with one line
saying why (and tests/conftest.py fails a run that skipped anything, unless it was asked for).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_plain_engine
from sqlalchemy.pool import NullPool

from adapters.persistence import migrator
from adapters.persistence.database import create_engine, create_session_factory
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.tables import audit_events, metadata
from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork, unit_of_work_factory
from tests.integration.secret_shapes import secrets_in_event
from tests.integration.servers import PrivatePostgres, PrivateRedis, find_postgres_binaries

INTEGRATION_DIRECTORY = Path(__file__).resolve().parent
POSTGRES_IMAGE = "postgres:17-alpine"
REDIS_IMAGE = "redis:7-alpine"
LOCAL_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
PROBE_TIMEOUT_SECONDS = 3
NO_POSTGRES = (
    "no PostgreSQL: TEST_DATABASE_URL unset, nothing answers on 127.0.0.1:5432, no initdb/pg_ctl "
    "(apt-get install postgresql) and no Docker engine for testcontainers"
)
NO_REDIS = (
    "no Redis: TEST_REDIS_URL unset, nothing answers on 127.0.0.1:6379, no redis-server "
    "(apt-get install redis-server) and no Docker engine for testcontainers"
)
NO_REDIS_SERVER = (
    "no redis-server on PATH for the Redis outage tests (apt-get install redis-server)"
)


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
    elif postgres_answers(LOCAL_POSTGRES_URL):
        yield LOCAL_POSTGRES_URL
    elif (binaries := find_postgres_binaries()) is not None:
        server = PrivatePostgres(binaries)
        try:
            server.start()
            yield server.url
        finally:
            server.remove()
    elif docker_answers():
        # Imported late: only this branch needs testcontainers, and importing it is slow.
        from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415

        with PostgresContainer(POSTGRES_IMAGE, driver="asyncpg") as container:
            yield container.get_connection_url()
    else:
        pytest.skip(NO_POSTGRES)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis shared by the session. Tests use their own key prefix, never FLUSHDB."""
    if url := os.environ.get("TEST_REDIS_URL"):
        if not url.startswith(("redis://", "rediss://")):
            pytest.fail("TEST_REDIS_URL must be a Redis URL (redis://host:port/db).")
        yield url
    elif redis_answers(LOCAL_REDIS_URL):
        yield LOCAL_REDIS_URL
    elif shutil.which("redis-server") is not None:
        server = PrivateRedis(tmp_path_factory.mktemp("redis"))
        server.start()
        try:
            yield server.url
        finally:
            server.stop()
    elif docker_answers():
        from testcontainers.community.redis import RedisContainer  # noqa: PLC0415

        with RedisContainer(REDIS_IMAGE) as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
    else:
        pytest.skip(NO_REDIS)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A `redis-server` of the test's own on a free port, which it may stop and restart."""
    try:
        server = PrivateRedis(tmp_path)
    except FileNotFoundError:
        pytest.skip(NO_REDIS_SERVER)
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
    """Empty every table after the test, so no test sees another's rows.

    First every audit event the test left is swept for anything shaped like a secret, so the
    whole integration suite checks that no flow records a token, key or password.
    """
    yield
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = create_plain_engine(migrated_database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            # A test that leaked an open transaction must fail the run, not hang it.
            await connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            events = (await connection.execute(select(audit_events))).mappings().all()
            await connection.execute(text(f"TRUNCATE TABLE {tables}"))
    finally:
        await engine.dispose()
    leaks = [leak for event in events for leak in secrets_in_event(event)]
    if leaks:
        pytest.fail(f"audit events hold secrets: {leaks}")


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
def gate() -> ConnectionGate:
    """The gate in front of `engine`'s pool: a turn per connection."""
    return ConnectionGate(size=20, timeout=10)


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], gate: ConnectionGate
) -> Callable[[], SqlAlchemyUnitOfWork]:
    """Makes a fresh unit of work per call, like the one the use cases receive."""
    return unit_of_work_factory(session_factory, gate)


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


def postgres_answers(url: str) -> bool:
    """Whether the PostgreSQL server of `url` takes a connection and a query, within seconds."""

    async def select_one() -> None:
        engine = create_plain_engine(
            url, poolclass=NullPool, connect_args={"timeout": PROBE_TIMEOUT_SECONDS}
        )
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    # In a thread of its own: asyncio.run would reset pytest-asyncio's loop in this one.
    with ThreadPoolExecutor(max_workers=1) as executor:
        try:
            executor.submit(asyncio.run, select_one()).result()
        except (OSError, SQLAlchemyError):
            return False
    return True


def redis_answers(url: str) -> bool:
    """Whether the Redis server of `url` answers PING, within seconds."""
    client = Redis.from_url(url, socket_timeout=PROBE_TIMEOUT_SECONDS)
    try:
        return bool(client.ping())
    except RedisError:
        return False
    finally:
        client.close()


def docker_answers() -> bool:
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
