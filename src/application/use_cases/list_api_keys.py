"""List the caller's API keys."""

from __future__ import annotations

from application.ports import UnitOfWorkFactory
from application.principal import Principal
from domain.credentials import ApiKey


class ListApiKeys:
    """The caller's keys, oldest first (bearer only); never the secret."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, principal: Principal) -> list[ApiKey]:
        principal.ensure_bearer()
        async with self._uow() as uow:
            return await uow.api_keys.list_for(principal.user.id)
