"""Clients (service accounts) on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import clients
from adapters.persistence.times import from_db_time, to_utc
from application.ports.persistence import ClientRepository
from domain.clients import Client, ClientId, ClientName, Scope, scope_text
from domain.credentials import SecretDigest


class SqlAlchemyClientRepository(ClientRepository):
    """Clients in `clients`, the secret by digest only."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, client: Client) -> None:
        with translate_errors():
            await self._session.execute(
                insert(clients).values(
                    id=client.id,
                    name=client.name.value,
                    scopes=scope_text(client.scopes),
                    digest=client.digest.value,
                    created_at=to_utc(client.created_at),
                )
            )

    async def get(self, client_id: ClientId) -> Client | None:
        with translate_errors():
            result = await self._session.execute(select(clients).where(clients.c.id == client_id))
            row = result.mappings().one_or_none()
        return client_from_row(row) if row is not None else None

    async def list_all(self) -> list[Client]:
        statement = select(clients).order_by(clients.c.created_at, clients.c.id)
        with translate_errors():
            result = await self._session.execute(statement)
            rows = result.mappings().all()
        return [client_from_row(row) for row in rows]

    async def delete(self, client_id: ClientId) -> bool:
        with translate_errors():
            result = cast(
                CursorResult[Any],
                await self._session.execute(delete(clients).where(clients.c.id == client_id)),
            )
        return result.rowcount > 0


def client_from_row(row: Mapping[Any, Any]) -> Client:
    return Client(
        id=ClientId(row["id"]),
        name=ClientName(row["name"]),
        scopes=frozenset(Scope(name) for name in str(row["scopes"]).split()),
        digest=SecretDigest(row["digest"]),
        created_at=from_db_time(row["created_at"]),
    )
