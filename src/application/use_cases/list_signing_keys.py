"""The managed signing keys and where each stands, for operators (no secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.ports import Clock, UnitOfWorkFactory
from application.signing_keys import SigningKeyPolicy
from domain.signing_keys import KeySet, KeyState


@dataclass(frozen=True, slots=True)
class SigningKeyView:
    """One key as `accounts keys list` shows it."""

    kid: str
    algorithm: str
    created_at: datetime
    signs_from: datetime
    retired_at: datetime | None
    state: KeyState


class ListSigningKeys:
    """Every stored key, oldest first, with its state now."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, policy: SigningKeyPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def execute(self) -> list[SigningKeyView]:
        async with self._uow() as uow:
            keys = KeySet.of(await uow.signing_keys.list_all()).keys
        now = self._clock.now()
        return [
            SigningKeyView(
                kid=key.kid,
                algorithm=key.algorithm,
                created_at=key.created_at,
                signs_from=key.signs_from,
                retired_at=key.retired_at,
                state=key.state(now, self._policy.keep_after_retirement),
            )
            for key in keys
        ]
