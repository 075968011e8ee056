"""Run the schema migrations from code (CLI commands, tests) without an alembic.ini."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from adapters.persistence.database import create_migration_engine

MIGRATIONS_DIRECTORY = Path(__file__).resolve().parent / "migrations"


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`; call from sync code, not an event loop."""
    command.upgrade(_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at `url` down to `revision`; call from sync code, not an event loop."""
    command.downgrade(_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database at `url` is at, or None if never migrated; sync callers only."""
    return asyncio.run(_current(url))


def head() -> str | None:
    """The newest revision this code ships."""
    return ScriptDirectory.from_config(_config("")).get_current_head()


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY))
    # Passed as an attribute, not a main option: the ini parser would treat "%" in passwords
    # as interpolation.
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    return config


async def _current(url: str) -> str | None:
    engine = create_migration_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await engine.dispose()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
