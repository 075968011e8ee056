"""Argon2id password hashing through pwdlib, off the event loop."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

from application.ports import PasswordHasher, PasswordVerification
from domain.users import HashedPassword

# How much lower than the event loop the hashing threads run (a Unix nice increment).
HASHING_NICENESS = 10

T = TypeVar("T")


def _yield_to_the_event_loop() -> None:
    """Lower the calling hashing thread's CPU priority (Linux: nice applies per thread).

    A login storm keeps every hashing thread busy; at equal priority the event loop gets only
    its share of the cores and every other request waits behind hashes. At nice 10 the
    scheduler gives the loop (and the database) the CPU whenever they want it, and the hashes
    still use every cycle they leave idle.
    """
    # Only Linux gives each thread its own nice value; elsewhere a thread id is no process id.
    if sys.platform == "linux":
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)
        except OSError:
            return


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """Argon2id cost; the defaults are OWASP's minimum (m=19 MiB, t=2, p=1)."""

    memory_cost_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


class Argon2PasswordHasher(PasswordHasher):
    """Argon2id via pwdlib (maintained; passlib is not).

    Hashing runs in a dedicated thread pool sized to the cores: argon2-cffi releases the GIL,
    so hashes use every core while the event loop keeps serving, and a burst of logins queues
    here instead of starving the default executor that other work shares.

    Each hash allocates its memory cost (19 MiB by default); the C heap keeps the freed block
    for the next hash, which makes hashing about a third faster than mapping it afresh each
    time: a process keeps one block per hashing thread once that thread has hashed.
    """

    def __init__(
        self,
        parameters: Argon2Parameters | None = None,
        *,
        max_threads: int | None = None,
    ) -> None:
        params = parameters or Argon2Parameters()
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    memory_cost=params.memory_cost_kib,
                    time_cost=params.time_cost,
                    parallelism=params.parallelism,
                ),
            )
        )
        self._executor = ThreadPoolExecutor(
            max_workers=max_threads or os.cpu_count() or 1,
            thread_name_prefix="argon2",
            initializer=_yield_to_the_event_loop,
        )
        self._dummy: str | None = None

    async def hash(self, password: str) -> HashedPassword:
        value = await self._in_pool(self._hash.hash, password)
        return HashedPassword(value)

    async def verify(self, password: str, hashed: HashedPassword) -> PasswordVerification:
        try:
            valid, updated = await self._in_pool(
                self._hash.verify_and_update, password, hashed.value
            )
        except UnknownHashError:
            # A stored hash no configured hasher recognises fails closed, never a 500.
            return PasswordVerification(valid=False)
        return PasswordVerification(
            valid=valid, upgraded_hash=HashedPassword(updated) if valid and updated else None
        )

    async def verify_dummy(self, password: str) -> None:
        if self._dummy is None:
            self._dummy = (await self.hash("dummy password for timing equalisation")).value
        await self.verify(password, HashedPassword(self._dummy))

    async def _in_pool(self, function: Callable[..., T], *args: str) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def close(self) -> None:
        """Stop the hashing threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
