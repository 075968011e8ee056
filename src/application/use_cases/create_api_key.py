"""Create an API key for the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from application.audit import AuditEvents
from application.errors import ApiKeyLimitReached, InvalidToken
from application.ports import Clock, IdGenerator, SecretGenerator, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.credentials import ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.credentials.api_keys import PREFIX_ALPHABET, PREFIX_RANDOM_LENGTH

API_KEY_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class CreateApiKeyCommand:
    principal: Principal
    name: str
    expires_at: datetime | None = None
    context: RequestContext = NO_REQUEST


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """The stored key, and the full key: shown to its owner this once, never again."""

    api_key: ApiKey
    key: str = field(repr=False)


class CreateApiKey:
    """Make a key for the caller (bearer only), up to `keys_per_user` keys; only its digest is
    stored. Expired keys count until their owner deletes them."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        secrets: SecretGenerator,
        events: AuditEvents,
        *,
        keys_per_user: int,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._secrets = secrets
        self._events = events
        self._keys_per_user = keys_per_user

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
            # The owner's row, locked: one user's concurrent creations count one at a time.
            if await uow.users.get_by_id(api_key.user_id, for_update=True) is None:
                raise InvalidToken("The account no longer exists.")
            if await uow.api_keys.count_for(api_key.user_id) >= self._keys_per_user:
                raise ApiKeyLimitReached(
                    f"You hold {self._keys_per_user} API keys, the most one account may; "
                    "delete one you no longer use (expired keys count too) and try again."
                )
            await uow.api_keys.add(api_key)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.API_KEY_CREATED,
                    command.context,
                    api_key.created_at,
                    actor_id=api_key.user_id,
                    subject_id=api_key.user_id,
                    details={"api_key_id": str(api_key.id), "name": api_key.name.value},
                )
            )
            await uow.commit()
        return CreatedApiKey(api_key=api_key, key=key)
