"""Alembic environment: runs migrations over the async engine, from sync callers or the CLI."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection, make_url

from adapters.persistence.database import create_migration_engine
from adapters.persistence.tables import metadata

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./accounts.db"

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    # Only for the alembic CLI; programmatic callers keep their own logging set-up intact.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return str(url or os.environ.get("ACCOUNTS_DATABASE_URL") or DEFAULT_DATABASE_URL)


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=_is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        # The engine's BEGIN IMMEDIATE makes SQLite DDL transactional as well, so a failed
        # migration leaves neither half a schema nor a version row that lies about it.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    """Connect and migrate; the engine has no pool and is disposed afterwards."""
    engine = create_migration_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
