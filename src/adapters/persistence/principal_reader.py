"""The authenticated hot path's reads: one statement, no transaction around it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from adapters.persistence.client_repository import client_from_row
from adapters.persistence.credential_repositories import api_key_from_row
from adapters.persistence.database import retry_once
from adapters.persistence.errors import DRIVER_ERRORS, translate_errors
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.tables import api_keys, clients, sessions, users
from adapters.persistence.user_repository import user_from_row
from application.ports.persistence import PrincipalReader
from domain.clients import Client, ClientId
from domain.credentials import ApiKey
from domain.sessions import SessionId
from domain.users import User, UserId

_OPEN_SESSION = "open_session_id"
_KEY = "key_"

# Built once with bound parameters: no statement construction or cache-key walk per request.
_USER: Select[Any] = select(users).where(users.c.id == bindparam("user_id"))
# Only whether the session is open and the user's: its other columns are for session listings.
_USER_WITH_OPEN_SESSION: Select[Any] = (
    select(users, sessions.c.id.label(_OPEN_SESSION))
    .select_from(
        users.outerjoin(
            sessions,
            and_(
                sessions.c.id == bindparam("session_id"),
                sessions.c.user_id == users.c.id,
                sessions.c.ended_at.is_(None),
            ),
        )
    )
    .where(users.c.id == bindparam("user_id"))
)
_API_KEY_WITH_OWNER: Select[Any] = (
    select(users, *(column.label(f"{_KEY}{column.name}") for column in api_keys.c))
    .select_from(api_keys.join(users, users.c.id == api_keys.c.user_id))
    .where(api_keys.c.prefix == bindparam("prefix"))
)
_CLIENT: Select[Any] = select(clients).where(clients.c.id == bindparam("client_id"))
_Row = Mapping[str, Any]


class SqlAlchemyPrincipalReader(PrincipalReader):
    """Reads the user with their session (or the API key with its owner, or a client) in one
    SELECT.

    On PostgreSQL the connection runs in autocommit mode: a lone SELECT is its own snapshot,
    so BEGIN and ROLLBACK would only add two round trips. SQLite keeps the engine's own
    transaction handling (its BEGIN costs no network).
    """

    def __init__(self, engine: AsyncEngine, gate: ConnectionGate) -> None:
        self._gate = gate
        self._postgres = engine.dialect.name == "postgresql" and engine.driver == "asyncpg"
        self._engine = (
            engine
            if engine.dialect.name == "sqlite"
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # On asyncpg: each statement's SQL and parameter order, compiled once for the driver.
        self._driver_sql = {
            statement: _for_driver(statement, engine)
            for statement in (_USER, _USER_WITH_OPEN_SESSION, _API_KEY_WITH_OWNER, _CLIENT)
        }

    async def user_with_open_session(
        self, user_id: UserId, session_id: SessionId | None
    ) -> tuple[User | None, bool]:
        if session_id is None:
            row = await self._one_or_none(_USER, {"user_id": user_id})
            return (user_from_row(row) if row is not None else None), False
        row = await self._one_or_none(
            _USER_WITH_OPEN_SESSION, {"user_id": user_id, "session_id": session_id}
        )
        if row is None:
            return None, False
        return user_from_row(row), row[_OPEN_SESSION] is not None

    async def api_key_with_owner(self, prefix: str) -> tuple[ApiKey | None, User | None]:
        row = await self._one_or_none(_API_KEY_WITH_OWNER, {"prefix": prefix})
        if row is None:
            return None, None
        return api_key_from_row(_unprefixed(row, _KEY)), user_from_row(row)

    async def client(self, client_id: ClientId) -> Client | None:
        row = await self._one_or_none(_CLIENT, {"client_id": client_id})
        return client_from_row(row) if row is not None else None

    async def _one_or_none(self, statement: Select[Any], params: dict[str, Any]) -> _Row | None:
        async def read() -> _Row | None:
            async with self._engine.connect() as connection:
                result = await connection.execute(statement, params)
                row: _Row | None = result.mappings().one_or_none()
            return row

        async with self._gate:
            with translate_errors():
                if self._postgres:
                    fetched, row = await self._fetch_through_driver(statement, params)
                    if fetched:
                        return row
                return await retry_once(read)

    async def _fetch_through_driver(
        self, statement: Select[Any], params: dict[str, Any]
    ) -> tuple[bool, _Row | None]:
        """The SELECT straight on the pooled connection's asyncpg driver (its prepared-statement
        cache), skipping SQLAlchemy's execution and result layers.

        `(False, None)` when the driver failed: that connection is invalidated and the caller
        runs the statement through SQLAlchemy, which recognises a dead pool, retries once and
        translates what is left, exactly as before.
        """
        sql, names = self._driver_sql[statement]
        # The pool's connection itself, not a SQLAlchemy Connection around it: one hop into
        # the pool's greenlet to lend it, one to take it back, nothing else.
        pooled = await self._engine.raw_connection()
        try:
            record = await pooled.driver_connection.fetchrow(  # type: ignore[union-attr]
                sql, *(params[name] for name in names)
            )
        except DRIVER_ERRORS as exc:
            await greenlet_spawn(pooled.invalidate, exc if isinstance(exc, Exception) else None)
            return False, None
        finally:
            # Back to the pool (a no-op after `invalidate`); the reset on return may talk to
            # the database, so it runs where SQLAlchemy's async adaptation can await.
            await greenlet_spawn(pooled.close)
        return True, record


def _for_driver(statement: Select[Any], engine: AsyncEngine) -> tuple[str, tuple[str, ...]]:
    compiled = statement.compile(dialect=engine.dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def _unprefixed(row: _Row, prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in row.items() if key.startswith(prefix)}
