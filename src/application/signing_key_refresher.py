"""The background refresher: every worker signs with the stored keys, picked up within a poll."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

from application.errors import StorageUnavailable
from application.ports import Clock, SecretBox, SigningKeyring, UnitOfWorkFactory
from application.signing_keys import SigningKeyPolicy, load_key_set, unseal
from application.use_cases.erase_retired_signing_keys import EraseRetiredSigningKeys
from application.use_cases.rotate_signing_key import RotateSigningKey, RotateSigningKeyCommand
from domain.signing_keys import KeySet


class SigningKeyRefresher:
    """Installs the stored keys in this process's keyring, and again whenever they change.

    Every `poll_seconds` it asks the database for the keys' version (one cheap query) and
    reloads them when it moved, or when a key's publication ends; it also runs the automatic
    rotation when one is due and erases private halves of retired keys. Every worker runs one:
    a rotation made anywhere is picked up within a poll.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        box: SecretBox,
        keyring: SigningKeyring,
        clock: Clock,
        *,
        policy: SigningKeyPolicy,
        rotate: RotateSigningKey,
        erase: EraseRetiredSigningKeys,
        poll_seconds: float,
        on_error: Callable[[Exception], None],
    ) -> None:
        self._uow = uow
        self._box = box
        self._keyring = keyring
        self._clock = clock
        self._policy = policy
        self._rotate = rotate
        self._erase = erase
        self._poll_seconds = poll_seconds
        self._on_error = on_error
        self._version: str | None = None
        self._next_change: datetime | None = None
        self._key_set = KeySet(())
        self._stopping = asyncio.Event()

    @property
    def key_set(self) -> KeySet:
        """The keys installed last."""
        return self._key_set

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload the keys when they changed (or `force`); whether it did."""
        now = self._clock.now()
        async with self._uow() as unit:
            version = await unit.signing_keys.version()
        stale = self._next_change is not None and now >= self._next_change
        if not force and not stale and version == self._version:
            return False
        version, key_set = await load_key_set(self._uow)
        self._keyring.install(unseal(key_set, self._box), now)
        self._version, self._key_set = version, key_set
        self._next_change = key_set.next_change(now, self._policy.keep_after_retirement)
        return True

    async def start(self) -> None:
        """Make the first key when there is none (or a due one), then install the keys.

        Keys that do not open stop the start; a database that is down or not migrated yet
        does not (the readiness probe reports it), and the polls make the keys once it is back.
        """
        with contextlib.suppress(StorageUnavailable):
            await self._rotate.execute(RotateSigningKeyCommand(only_if_due=True))
            await self.refresh(force=True)

    async def tick(self) -> None:
        """One poll: reload on change, then rotate or erase when due, and reload again."""
        await self.refresh()
        now = self._clock.now()
        changed = False
        if self._policy.rotation_due(self._key_set, now):
            changed = (
                await self._rotate.execute(RotateSigningKeyCommand(only_if_due=True)) is not None
            )
        if any(k.is_retired(now) and k.sealed_private_key is not None for k in self._key_set.keys):
            changed = await self._erase.execute() > 0 or changed
        if changed:
            await self.refresh(force=True)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Poll until `stop`; a failed poll is reported (a database down or not migrated is the
        readiness probe's to report) and the next one tries again."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)
            if self._stopping.is_set():
                return
            try:
                await self.tick()
            except StorageUnavailable:
                pass
            except Exception as error:  # noqa: BLE001 - the refresher outlives any one failed poll
                self._on_error(error)
