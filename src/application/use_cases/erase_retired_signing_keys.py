"""Forget the private halves of signing keys that will never sign again."""

from __future__ import annotations

from application.ports import Clock, UnitOfWorkFactory
from domain.signing_keys import KeySet


class EraseRetiredSigningKeys:
    """Erase the sealed private half of every retired key; returns how many were erased.

    A retired key only verifies the tokens it signed, and only its public half does that: a
    private half kept after retirement could only ever be stolen.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self) -> int:
        async with self._uow() as uow:
            now = self._clock.now()
            erased = 0
            for key in KeySet.of(await uow.signing_keys.list_all()).keys:
                if key.erase_private_key(now):
                    await uow.signing_keys.update(key)
                    erased += 1
            if erased:
                await uow.commit()
        return erased
