"""Translate database and driver failures into the application's own errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy import exc as sa_exc

from adapters.persistence.tables import EMAIL_UNIQUE_INDEX, EXTERNAL_IDENTITY_KEYS
from application.errors import (
    AccountDeleted,
    EmailAlreadyRegistered,
    ExternalIdentityTaken,
    StorageNotMigrated,
    StorageUnavailable,
)

# asyncpg errors that mean "no usable connection" rather than "bad statement"; SQLAlchemy
# wraps some of them (for example a server restarting) in a plain DBAPIError.
_ASYNCPG_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, *_ASYNCPG_CONNECTION_ERRORS)

# Postgres's SQLSTATE for a statement naming a table that does not exist.
UNDEFINED_TABLE = "42P01"
# Postgres's SQLSTATE for a row referring to one that does not exist (any more).
FOREIGN_KEY_VIOLATION = "23503"

# Anything the asyncpg driver raises on its own, below SQLAlchemy: server errors, a closed or
# broken connection, a socket failure.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

UNAVAILABLE_MESSAGE = "The database is unavailable right now."
NOT_MIGRATED_MESSAGE = "The database lacks the service's tables: run `accounts migrate`."


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise database failures as `EmailAlreadyRegistered` or `StorageUnavailable`.

    The original stays attached as `__cause__` for logs; messages never carry SQL or parameters.
    """
    try:
        yield
    except sa_exc.IntegrityError as exc:
        if EMAIL_UNIQUE_INDEX in str(exc.orig):
            raise EmailAlreadyRegistered("An account with this email already exists.") from exc
        if any(name in str(exc.orig) for name in EXTERNAL_IDENTITY_KEYS):
            raise ExternalIdentityTaken("This external identity is linked already.") from exc
        if getattr(exc.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION:
            # Only ever a row of an account (or session) deleted while this request ran.
            raise AccountDeleted("The account was deleted while the request ran.") from exc
        raise
    except sa_exc.DBAPIError as exc:
        if _names_a_missing_table(exc):
            raise StorageNotMigrated(NOT_MIGRATED_MESSAGE) from exc
        if (
            isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
            or exc.connection_invalidated
            or _caused_by_lost_connection(exc)
        ):
            raise StorageUnavailable(UNAVAILABLE_MESSAGE) from exc
        raise
    except sa_exc.TimeoutError as exc:
        raise StorageUnavailable(UNAVAILABLE_MESSAGE) from exc
    except _CONNECTION_ERRORS as exc:
        # Connection refused, DNS failure and connect timeouts surface unwrapped from connect().
        raise StorageUnavailable(UNAVAILABLE_MESSAGE) from exc


def _names_a_missing_table(exc: sa_exc.DBAPIError) -> bool:
    """A statement on a table the database lacks: SQLite's message, Postgres's SQLSTATE."""
    if isinstance(exc.orig, sqlite3.OperationalError):
        return str(exc.orig).startswith("no such table")
    return getattr(exc.orig, "sqlstate", None) == UNDEFINED_TABLE


def _caused_by_lost_connection(exc: sa_exc.DBAPIError) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc.orig
    while current is not None and id(current) not in seen:
        if isinstance(current, _ASYNCPG_CONNECTION_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
