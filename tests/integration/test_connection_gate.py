"""Database work is served first come, first served (persistence.gate).

SQLAlchemy's asyncio pool lets a request arriving just as a connection comes back take it ahead
of requests that had been waiting, which sends them to the back of the line; under load a few
requests waited seconds. The gate in front of the pool keeps the order.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest

from adapters.persistence.database import create_engine, create_session_factory
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.principal_reader import SqlAlchemyPrincipalReader
from adapters.persistence.unit_of_work import unit_of_work_factory
from application.errors import StorageUnavailable
from domain.users import UserId

WAIT_SECONDS = 10.0
SOMEONE = UserId(UUID(int=1))


async def _settle() -> None:
    """Let every task that can run, run until it waits."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_waiting_units_of_work_are_served_in_the_order_they_asked(
    migrated_database_url: str,
) -> None:
    engine = create_engine(
        migrated_database_url, pool_size=1, max_overflow=0, pool_timeout=WAIT_SECONDS
    )
    gate = ConnectionGate(size=1, timeout=WAIT_SECONDS)
    uow = unit_of_work_factory(create_session_factory(engine), gate)
    reader = SqlAlchemyPrincipalReader(engine, gate)
    served: list[str] = []

    async def work(name: str) -> None:
        async with uow() as unit:
            served.append(name)
            await unit.users.get_by_id(SOMEONE)

    async def read(name: str) -> None:
        await reader.user_with_open_session(SOMEONE, None)
        served.append(name)

    try:
        async with uow() as holder:
            await holder.users.get_by_id(SOMEONE)
            waiting = [
                asyncio.create_task(work("waiter 0")),
                asyncio.create_task(read("waiter 1")),
                asyncio.create_task(work("waiter 2")),
            ]
            await asyncio.sleep(0.2)  # every waiter asks while the holder keeps the connection
        # Asks the moment the connection is back in the pool, before any waiter has run.
        await work("newcomer")
        await asyncio.gather(*waiting)
    finally:
        await engine.dispose()

    assert served == ["waiter 0", "waiter 1", "waiter 2", "newcomer"]


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    gate = ConnectionGate(size=1, timeout=WAIT_SECONDS)
    served: list[str] = []

    async def wait_turn(name: str) -> None:
        async with gate:
            served.append(name)

    async with gate:
        cancelled = asyncio.create_task(wait_turn("cancelled"))
        await _settle()
        patient = asyncio.create_task(wait_turn("patient"))
        await _settle()
        cancelled.cancel()
        await _settle()

    await patient
    assert served == ["patient"]
    assert cancelled.cancelled()


async def test_a_turn_that_does_not_come_in_time_is_storage_unavailable() -> None:
    gate = ConnectionGate(size=1, timeout=0.01)

    async with gate:
        with pytest.raises(StorageUnavailable):
            async with gate:
                pass

    async with gate:  # the timed-out wait took nothing with it
        pass
