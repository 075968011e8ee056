"""Managed signing keys in a running process: the keyring kept equal to the stored keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application.ports import SecretBox, UnitOfWorkFactory, UnsealedSigningKey
from domain.signing_keys import KeySet


@dataclass(frozen=True, slots=True)
class SigningKeyPolicy:
    """How managed keys are made and kept.

    `publication_delay` is how long a new key is published before it signs (the JWKS cache
    lifetime); `keep_after_retirement` how long a retired key stays published (the longest
    token lifetime and a margin for clocks); `rotate_every` None never rotates by itself.
    """

    algorithm: str
    publication_delay: timedelta
    keep_after_retirement: timedelta
    rotate_every: timedelta | None

    def rotation_due(self, key_set: KeySet, now: datetime) -> bool:
        """No key yet, the newest one is old enough, or it is of another algorithm."""
        newest = key_set.newest()
        if newest is not None and newest.algorithm != self.algorithm:
            return True
        return key_set.rotation_due(now, self.rotate_every)


async def load_key_set(uow: UnitOfWorkFactory) -> tuple[str, KeySet]:
    """The stored keys and the version they are at."""
    async with uow() as unit:
        version = await unit.signing_keys.version()
        return version, KeySet.of(await unit.signing_keys.list_all())


def unseal(key_set: KeySet, box: SecretBox) -> list[UnsealedSigningKey]:
    """Every key with its private half opened; raises the box's error when one does not open."""
    return [
        UnsealedSigningKey(
            key, None if key.sealed_private_key is None else box.open(key.sealed_private_key)
        )
        for key in key_set.keys
    ]
