"""Create an API key for the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from application.ports import Clock, IdGenerator, SecretGenerator, UnitOfWorkFactory
from application.principal import Principal
from domain.credentials import ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.credentials.api_keys import PREFIX_ALPHABET, PREFIX_RANDOM_LENGTH

API_KEY_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class CreateApiKeyCommand:
    principal: Principal
    name: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """The stored key, and the full key: shown to its owner this once, never again."""

    api_key: ApiKey
    key: str = field(repr=False)


class CreateApiKey:
    """Make a key for the caller (bearer only); only its digest is stored."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, secrets: SecretGenerator
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._secrets = secrets

    async def execute(self, command: CreateApiKeyCommand) -> CreatedApiKey:
        command.principal.ensure_bearer()
        name = ApiKeyName(command.name)
        key = ParsedApiKey.compose(
            self._secrets.choice(PREFIX_ALPHABET, PREFIX_RANDOM_LENGTH),
            self._secrets.token(API_KEY_SECRET_BYTES),
        )
        api_key = ApiKey.create(
            key_id=ApiKeyId(self._ids.new_id()),
            user_id=command.principal.user.id,
            name=name,
            key=key,
            now=self._clock.now(),
            expires_at=command.expires_at,
        )
        async with self._uow() as uow:
            await uow.api_keys.add(api_key)
            await uow.commit()
        return CreatedApiKey(api_key=api_key, key=key)
