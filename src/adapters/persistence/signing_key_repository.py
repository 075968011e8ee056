"""Managed signing keys on SQLAlchemy Core."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import signing_keys
from adapters.persistence.times import from_db_time, optional_from_db_time, optional_to_utc, to_utc
from application.errors import ConcurrentUpdate
from application.ports.persistence import SigningKeyRepository
from domain.signing_keys import SigningKey


async def _execute(session: AsyncSession, statement: Any) -> CursorResult[Any]:
    with translate_errors():
        return cast(CursorResult[Any], await session.execute(statement))


class SqlAlchemySigningKeyRepository(SigningKeyRepository):
    """Keys in `signing_keys`; the unique generation lets only one of two racing rotations in."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list_all(self) -> list[SigningKey]:
        rows = await _execute(
            self._session, select(signing_keys).order_by(signing_keys.c.generation)
        )
        return [_key(row) for row in rows.mappings()]

    async def add(self, key: SigningKey) -> None:
        try:
            await _execute(
                self._session,
                insert(signing_keys).values(
                    kid=key.kid,
                    generation=key.generation,
                    algorithm=key.algorithm,
                    public_jwk=dict(key.public_jwk),
                    sealed_private_key=key.sealed_private_key,
                    created_at=to_utc(key.created_at),
                    signs_from=to_utc(key.signs_from),
                    retired_at=optional_to_utc(key.retired_at),
                ),
            )
        except sa_exc.IntegrityError as exc:
            raise ConcurrentUpdate("Another rotation added a signing key first.") from exc

    async def update(self, key: SigningKey) -> None:
        await _execute(
            self._session,
            update(signing_keys)
            .where(signing_keys.c.kid == key.kid)
            .values(
                sealed_private_key=key.sealed_private_key,
                retired_at=optional_to_utc(key.retired_at),
            ),
        )

    async def version(self) -> str:
        # Every change adds a key (count, newest generation), retires one (the latest
        # retirement) or erases a private half (how many are left).
        row = (
            await _execute(
                self._session,
                select(
                    func.count(),
                    func.max(signing_keys.c.generation),
                    func.max(signing_keys.c.retired_at),
                    func.count(signing_keys.c.sealed_private_key),
                ).select_from(signing_keys),
            )
        ).one()
        return ":".join(str(value) for value in row)


def _key(row: RowMapping) -> SigningKey:
    return SigningKey(
        kid=row["kid"],
        generation=row["generation"],
        algorithm=row["algorithm"],
        public_jwk={str(k): str(v) for k, v in row["public_jwk"].items()},
        sealed_private_key=row["sealed_private_key"],
        created_at=from_db_time(row["created_at"]),
        signs_from=from_db_time(row["signs_from"]),
        retired_at=optional_from_db_time(row["retired_at"]),
    )
