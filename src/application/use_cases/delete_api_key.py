"""Delete one of the caller's API keys."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.errors import ApiKeyNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.credentials import ApiKeyId


@dataclass(frozen=True, slots=True)
class DeleteApiKeyCommand:
    principal: Principal
    key_id: ApiKeyId
    context: RequestContext = NO_REQUEST


class DeleteApiKey:
    """Delete one of the caller's keys; another user's key is as unknown as a missing one."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, events: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, command: DeleteApiKeyCommand) -> None:
        command.principal.ensure_bearer()
        async with self._uow() as uow:
            key = await uow.api_keys.get(command.key_id)
            if key is None or key.user_id != command.principal.user.id:
                raise ApiKeyNotFound("You have no API key with this id.")
            await uow.api_keys.delete(key.id)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.API_KEY_DELETED,
                    command.context,
                    self._clock.now(),
                    actor_id=command.principal.user.id,
                    subject_id=key.user_id,
                    details={"api_key_id": str(key.id), "name": key.name.value},
                )
            )
            await uow.commit()
