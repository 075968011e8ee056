"""Delete one of the caller's API keys."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import ApiKeyNotFound
from application.ports import UnitOfWorkFactory
from application.principal import Principal
from domain.credentials import ApiKeyId


@dataclass(frozen=True, slots=True)
class DeleteApiKeyCommand:
    principal: Principal
    key_id: ApiKeyId


class DeleteApiKey:
    """Delete one of the caller's keys; another user's key is as unknown as a missing one."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: DeleteApiKeyCommand) -> None:
        command.principal.ensure_bearer()
        async with self._uow() as uow:
            key = await uow.api_keys.get(command.key_id)
            if key is None or key.user_id != command.principal.user.id:
                raise ApiKeyNotFound("You have no API key with this id.")
            await uow.api_keys.delete(key.id)
            await uow.commit()
