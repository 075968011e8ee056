"""The authenticated hot path's reads: one statement, no transaction around it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.credential_repositories import api_key_from_row, family_from_row
from adapters.persistence.database import retry_once
from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import api_keys, refresh_token_families, users
from adapters.persistence.user_repository import user_from_row
from application.ports.persistence import PrincipalReader
from domain.credentials import ApiKey, RefreshTokenFamily, RefreshTokenFamilyId
from domain.users import User, UserId

_SESSION = "session_"
_KEY = "key_"


class SqlAlchemyPrincipalReader(PrincipalReader):
    """Reads the user with their session (or the API key with its owner) in one SELECT.

    On PostgreSQL the connection runs in autocommit mode: a lone SELECT is its own snapshot,
    so BEGIN and ROLLBACK would only add two round trips. SQLite keeps the engine's own
    transaction handling (its BEGIN costs no network).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = (
            engine
            if engine.dialect.name == "sqlite"
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    async def user_with_session(
        self, user_id: UserId, session_id: RefreshTokenFamilyId | None
    ) -> tuple[User | None, RefreshTokenFamily | None]:
        if session_id is None:
            row = await self._one_or_none(select(users).where(users.c.id == user_id))
            return (user_from_row(row) if row is not None else None), None
        session_columns = [
            column.label(f"{_SESSION}{column.name}") for column in refresh_token_families.c
        ]
        statement = (
            select(users, *session_columns)
            .select_from(
                users.outerjoin(refresh_token_families, refresh_token_families.c.id == session_id)
            )
            .where(users.c.id == user_id)
        )
        row = await self._one_or_none(statement)
        if row is None:
            return None, None
        session = None
        if row[f"{_SESSION}id"] is not None:
            session = family_from_row(_unprefixed(row, _SESSION))
        return user_from_row(row), session

    async def api_key_with_owner(self, prefix: str) -> tuple[ApiKey | None, User | None]:
        key_columns = [column.label(f"{_KEY}{column.name}") for column in api_keys.c]
        statement = (
            select(users, *key_columns)
            .select_from(api_keys.join(users, users.c.id == api_keys.c.user_id))
            .where(api_keys.c.prefix == prefix)
        )
        row = await self._one_or_none(statement)
        if row is None:
            return None, None
        return api_key_from_row(_unprefixed(row, _KEY)), user_from_row(row)

    async def _one_or_none(self, statement: Select[Any]) -> RowMapping | None:
        async def read() -> RowMapping | None:
            async with self._engine.connect() as connection:
                result = await connection.execute(statement)
                row: RowMapping | None = result.mappings().one_or_none()
            return row

        with translate_errors():
            return await retry_once(read)


def _unprefixed(row: RowMapping, prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in row.items() if key.startswith(prefix)}
