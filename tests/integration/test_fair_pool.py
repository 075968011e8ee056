"""The connection pool lends connections first come, first served (persistence.fair_pool).

SQLAlchemy's own asyncio pool let a request arriving just as a connection came back take it
ahead of requests that had been waiting, which sent them to the back of the line; under load a
few requests waited seconds.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.queue import Empty

from adapters.persistence.database import create_engine
from adapters.persistence.fair_pool import FairAsyncQueue, FairAsyncQueuePool

WAIT_SECONDS = 10.0


async def _settle() -> None:
    """Let every task that can run, run until it waits."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_returned_connection_goes_to_the_longest_waiter_not_to_a_newcomer() -> None:
    queue = FairAsyncQueue(maxsize=1)
    queue.put_nowait("connection")
    held = await greenlet_spawn(queue.get, True, WAIT_SECONDS)
    served: list[str] = []

    async def take_and_give_back(name: str) -> None:
        item = await greenlet_spawn(queue.get, True, WAIT_SECONDS)
        served.append(name)
        queue.put_nowait(item)

    first = asyncio.create_task(take_and_give_back("first waiter"))
    await _settle()
    second = asyncio.create_task(take_and_give_back("second waiter"))
    await _settle()

    queue.put_nowait(held)
    # Asks in the same instant the connection comes back, before any waiter has run.
    await take_and_give_back("newcomer")
    await asyncio.gather(first, second)

    assert served == ["first waiter", "second waiter", "newcomer"]
    assert queue.qsize() == 1


async def test_a_cancelled_waiter_gives_its_turn_to_the_next_and_loses_nothing() -> None:
    queue = FairAsyncQueue(maxsize=1)
    queue.put_nowait("connection")
    held = await greenlet_spawn(queue.get, True, WAIT_SECONDS)
    cancelled = asyncio.create_task(greenlet_spawn(queue.get, True, WAIT_SECONDS))
    await _settle()
    patient = asyncio.create_task(greenlet_spawn(queue.get, True, WAIT_SECONDS))
    await _settle()

    cancelled.cancel()
    await _settle()
    queue.put_nowait(held)

    assert await patient == "connection"
    assert cancelled.cancelled()


async def test_a_wait_that_times_out_is_empty_and_the_connection_stays_in_the_pool() -> None:
    queue = FairAsyncQueue(maxsize=1)
    queue.put_nowait("connection")
    held = await greenlet_spawn(queue.get, True, WAIT_SECONDS)

    with pytest.raises(Empty):
        await greenlet_spawn(queue.get, True, 0.01)
    queue.put_nowait(held)

    assert queue.qsize() == 1
    assert await greenlet_spawn(queue.get, False) == "connection"


async def test_the_service_engine_serves_waiting_requests_in_the_order_they_asked(
    migrated_database_url: str,
) -> None:
    engine = create_engine(
        migrated_database_url, pool_size=1, max_overflow=0, pool_timeout=WAIT_SECONDS
    )
    served: list[str] = []

    async def query(name: str) -> None:
        async with engine.connect() as connection:
            served.append(name)
            await connection.execute(text("SELECT 1"))

    try:
        assert isinstance(engine.pool, FairAsyncQueuePool)
        holder = await engine.connect()
        await holder.execute(text("SELECT 1"))
        waiting = [asyncio.create_task(query(f"waiter {n}")) for n in range(3)]
        await asyncio.sleep(0.2)  # every waiter asks while the holder keeps the connection
        await holder.close()
        # Asks the moment the connection is back in the pool, before any waiter has run.
        await query("newcomer")
        await asyncio.gather(*waiting)
    finally:
        await engine.dispose()

    assert served == ["waiter 0", "waiter 1", "waiter 2", "newcomer"]
