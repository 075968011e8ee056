"""The database goes away mid-traffic and comes back: the service answers 503, then recovers.

A PostgreSQL of the test's own is stopped (immediate shutdown, like a crash) while requests
are in flight. Readiness and database-backed routes must answer 503 `service_unavailable`
within the pool timeout (no hang, no 500, nothing of the driver in the body); once the server
is started again, the same app serves again without a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from adapters.persistence import migrator
from tests.integration.http.conftest import Api, AppFactory, assert_problem
from tests.integration.servers import PrivatePostgres, find_postgres_binaries

POOL_TIMEOUT = 2.0
# Pool wait plus the work of one request; a hung request would blow far past it.
ANSWER_WITHIN = POOL_TIMEOUT + 3.0
UNLIMITED = "1000000/minute"
NO_BINARIES = "no initdb/pg_ctl for the outage test (apt-get install postgresql)"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    binaries = find_postgres_binaries()
    if binaries is None:
        pytest.skip(NO_BINARIES)
    server = PrivatePostgres(binaries)
    try:
        server.start()
        yield server
    finally:
        server.remove()


async def _timed(call: asyncio.Future[httpx.Response] | object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call  # type: ignore[misc]
    return response, time.monotonic() - started


async def _traffic(
    api: Api, headers: dict[str, str], stop: asyncio.Event
) -> list[tuple[int, float]]:
    seen = []
    while not stop.is_set():
        response, elapsed = await _timed(api.client.get("/api/v1/users/me", headers=headers))
        seen.append((response.status_code, elapsed))
        if response.status_code != 200:
            assert_problem(response, 503, "service_unavailable")
    return seen


async def test_stopping_postgres_mid_traffic_is_503_and_the_service_recovers(
    api_factory: AppFactory, private_postgres: PrivatePostgres
) -> None:
    await asyncio.to_thread(migrator.upgrade, private_postgres.url)
    api = await api_factory(
        database_url=private_postgres.url,
        db_pool_timeout_seconds=POOL_TIMEOUT,
        # The traffic loops as fast as the app answers: on a fast machine more than the
        # default per-user limit in a minute. Rate limits are not what this test is about.
        rate_limit_user=UNLIMITED,
    )
    _, headers = await api.user("ada@example.com")

    stop = asyncio.Event()
    workers = [asyncio.create_task(_traffic(api, headers, stop)) for _ in range(8)]
    await asyncio.sleep(0.5)  # traffic flowing before the fault
    await asyncio.to_thread(private_postgres.stop)
    await asyncio.sleep(1.0)  # traffic keeps coming while the database is gone
    down = [
        await _timed(api.client.get("/health/ready")),
        await _timed(api.client.get("/api/v1/users/me", headers=headers)),
        await _timed(api.register("bob@example.com")),
        await _timed(api.token("ada@example.com")),
    ]
    stop.set()
    seen = [sample for worker in workers for sample in await worker]

    statuses = {status for status, _ in seen}
    assert statuses <= {200, 503}, statuses
    assert 200 in statuses, "no traffic before the fault"
    assert 503 in statuses, "the fault did not land mid-traffic"
    assert max(elapsed for _, elapsed in seen) < ANSWER_WITHIN
    for response, elapsed in down:
        assert_problem(response, 503, "service_unavailable")
        assert elapsed < ANSWER_WITHIN
        assert "asyncpg" not in response.text.lower()
        assert "traceback" not in response.text.lower()
    assert down[0][0].json()["checks"]["database"] == "unavailable"

    await asyncio.to_thread(private_postgres.start)
    deadline = time.monotonic() + 30
    while (await api.client.get("/health/ready")).status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover within 30 s"
        await asyncio.sleep(0.1)
    me = await api.client.get("/api/v1/users/me", headers=headers)
    registered = await api.register("bob@example.com")
    assert me.status_code == 200
    assert registered.status_code == 201
    assert (await api.token("bob@example.com")).status_code == 200
    print(
        f"outage: {len(seen)} requests during the fault, "
        f"{sum(1 for s, _ in seen if s == 503)} answered 503, slowest "
        f"{max(e for _, e in seen):.2f} s"
    )
