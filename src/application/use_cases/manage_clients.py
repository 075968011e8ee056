"""Admins register, list and delete clients (service accounts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.errors import ClientNotFound
from application.ports import Clock, SecretGenerator, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.clients import (
    CLIENT_ID_ALPHABET,
    CLIENT_ID_RANDOM_LENGTH,
    CLIENT_SECRET_BYTES,
    Client,
    ClientId,
    ClientName,
    Scope,
    client_id_from,
    scope_text,
)


@dataclass(frozen=True, slots=True)
class CreateClientCommand:
    principal: Principal
    name: str
    scopes: Iterable[Scope]
    context: RequestContext = NO_REQUEST


@dataclass(frozen=True, slots=True)
class CreatedClient:
    """The stored client, and its secret: shown to the admin this once, never again."""

    client: Client
    secret: str = field(repr=False)


class CreateClient:
    """Register a client with a random public id and a random secret kept only as its digest."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, secrets: SecretGenerator, events: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._secrets = secrets
        self._events = events

    async def execute(self, command: CreateClientCommand) -> CreatedClient:
        command.principal.ensure_bearer()
        command.principal.ensure_admin()
        name = ClientName(command.name)
        secret = self._secrets.token(CLIENT_SECRET_BYTES)
        client = Client.register(
            client_id=client_id_from(
                self._secrets.choice(CLIENT_ID_ALPHABET, CLIENT_ID_RANDOM_LENGTH)
            ),
            name=name,
            scopes=command.scopes,
            secret=secret,
            now=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.clients.add(client)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.CLIENT_CREATED,
                    command.context,
                    client.created_at,
                    actor_id=command.principal.user.id,
                    details={
                        "client_id": client.id,
                        "name": client.name.value,
                        "scope": scope_text(client.scopes),
                    },
                )
            )
            await uow.commit()
        return CreatedClient(client=client, secret=secret)


class ListClients:
    """Every registered client, oldest first (no secret: only digests are kept)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, principal: Principal) -> list[Client]:
        principal.ensure_bearer()
        principal.ensure_admin()
        async with self._uow() as uow:
            return await uow.clients.list_all()


@dataclass(frozen=True, slots=True)
class DeleteClientCommand:
    principal: Principal
    client_id: str
    context: RequestContext = NO_REQUEST


class DeleteClient:
    """Remove a client: its secret stops authenticating and its tokens stop working at once."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, events: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, command: DeleteClientCommand) -> None:
        command.principal.ensure_bearer()
        command.principal.ensure_admin()
        client_id = ClientId(command.client_id)
        async with self._uow() as uow:
            if not await uow.clients.delete(client_id):
                raise ClientNotFound("No client has this id.")
            await uow.audit.record(
                self._events.new(
                    AuditEventType.CLIENT_DELETED,
                    command.context,
                    self._clock.now(),
                    actor_id=command.principal.user.id,
                    details={"client_id": client_id},
                )
            )
            await uow.commit()
