"""A first-come, first-served gate in front of the connection pool.

SQLAlchemy's asyncio pool lets a caller arriving just as a connection comes back take it ahead
of the callers already waiting, who then go back to the end of the line: under load a few
requests waited seconds. The gate admits at most as many holders as the pool has connections,
in the order they asked (`asyncio.Semaphore` serves its waiters first in, first out), so the
pool itself never has anyone waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.persistence.errors import UNAVAILABLE_MESSAGE
from application.errors import StorageUnavailable


class ConnectionGate:
    """Lets `size` holders use the pool at once; the others wait in line, `timeout` at most."""

    def __init__(self, *, size: int, timeout: float) -> None:
        self._slots = asyncio.Semaphore(size)
        self._timeout = timeout

    async def enter(self) -> None:
        """Wait in line for a turn; `StorageUnavailable` when it does not come in time."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise StorageUnavailable(UNAVAILABLE_MESSAGE) from None

    def leave(self) -> None:
        """End a turn `enter` began, letting the next in line in."""
        self._slots.release()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """`enter`, then `leave` however the block ends."""
        await self.enter()
        try:
            yield
        finally:
            self.leave()
