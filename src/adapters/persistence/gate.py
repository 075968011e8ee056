"""A first-come, first-served gate in front of the connection pool.

SQLAlchemy's asyncio pool lets a caller arriving just as a connection comes back take it ahead
of the callers already waiting, who then go back to the end of the line: under load a few
requests waited seconds. The gate admits at most as many holders as the pool has connections,
in the order they asked (`asyncio.Semaphore` serves its waiters first in, first out), so the
pool itself never has anyone waiting.
"""

from __future__ import annotations

import asyncio

from adapters.persistence.errors import UNAVAILABLE_MESSAGE
from application.errors import StorageUnavailable


class ConnectionGate:
    """Lets `size` holders use the pool at once; the others wait in line, `timeout` at most.

    `async with gate:` takes a turn for the block.
    """

    def __init__(self, *, size: int, timeout: float) -> None:
        self._slots = asyncio.Semaphore(size)
        self._timeout = timeout

    async def enter(self) -> None:
        """Wait in line for a turn; `StorageUnavailable` when it does not come in time."""
        if not self._slots.locked():
            # A free turn with nobody waiting is taken at once: no timer to arm.
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise StorageUnavailable(UNAVAILABLE_MESSAGE) from None

    def leave(self) -> None:
        """End a turn `enter` began, letting the next in line in."""
        self._slots.release()

    async def __aenter__(self) -> None:
        await self.enter()

    async def __aexit__(self, *_exc_info: object) -> None:
        self.leave()
