"""Turn an `X-API-Key` into the principal of the key's owner."""

from __future__ import annotations

from application.errors import AccountDisabled, InvalidToken
from application.ports import Clock, PrincipalReader, UnitOfWorkFactory
from application.principal import AuthMethod, Principal
from domain.credentials import ParsedApiKey


class ResolveApiKeyPrincipal:
    """Find the key by its public prefix, compare the whole key's digest in constant time,
    then read the owner's current state. The key and its owner come back in one read outside
    any transaction; `last_used_at` is written at most once a minute per key, in its own unit,
    so a busy machine client does not turn every request into a write.
    """

    def __init__(self, reader: PrincipalReader, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._reader = reader
        self._uow = uow
        self._clock = clock

    async def execute(self, key: str) -> Principal:
        parsed = ParsedApiKey.parse(key)
        if parsed is None:
            raise InvalidToken("The API key is not valid.")
        now = self._clock.now()
        api_key, user = await self._reader.api_key_with_owner(parsed.prefix)
        if api_key is None or not api_key.accepts(parsed, now):
            raise InvalidToken("The API key is not valid.")
        if user is None:
            raise InvalidToken("The API key is not valid.")
        if not user.is_active:
            raise AccountDisabled("This account is deactivated.")
        if api_key.record_use(now):
            async with self._uow() as uow:
                await uow.api_keys.record_use(api_key)
                await uow.commit()
        return Principal(user=user, method=AuthMethod.API_KEY, api_key_id=api_key.id)
