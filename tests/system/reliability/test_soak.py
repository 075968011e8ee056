"""Soak: mixed traffic at 64 connections through Gunicorn with 2 Uvicorn workers, real Postgres
and Redis. Zero 5xx, zero lost writes (every 201 is in the database afterwards), and worker
resident memory stable (growth under 10 % between idle moments after warm-up and at the end).

`SOAK_SECONDS` sets the length: 15 s in CI (`make test`), 120 s in `make soak`.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench.harness import unlimited_rate_limits
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.integration.http.conftest import JWT_SECRET, PASSWORD
from tests.integration.servers import start_gunicorn, stop_gunicorn

SECONDS = float(os.environ.get("SOAK_SECONDS", "15"))
CONNECTIONS = 64
WORKERS = 2
MAX_RSS_GROWTH = 0.10


@pytest.fixture
def gunicorn(
    migrated_database_url: str, redis_url: str, tmp_path: Path, clean_tables: None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "ACCOUNTS_DATABASE_URL": migrated_database_url,
        "ACCOUNTS_JWT_SECRET": JWT_SECRET,
        "ACCOUNTS_LOG_LEVEL": "WARNING",
        "ACCOUNTS_RATE_LIMIT_STORAGE_URL": redis_url,
        "ACCOUNTS_RATE_LIMIT_KEY_PREFIX": f"soak-{secrets.token_hex(4)}",
        **unlimited_rate_limits(),
        "GUNICORN_GRACEFUL_TIMEOUT": "10",
    }
    # The image's command: the repo's Gunicorn config, so the soak tests what ships.
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=WORKERS)
    try:
        yield server.base_url, server.process
    finally:
        stop_gunicorn(server)
    assert "Traceback" not in server.log.read_text(errors="replace")


def _rss_kib(master: int) -> dict[int, int]:
    """VmRSS of each worker (the master's children)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    rss = {}
    for pid in map(int, children):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    return rss


# What one Argon2 block adds to a worker once its hashing thread has hashed (19 MiB, glibc
# keeps it for the next hash), less a margin.
HASH_BLOCK_KIB = 15 * 1024
WARM_UP_ROUNDS = 10


async def _warm_every_hasher(base_url: str, master: int, before: dict[int, int]) -> None:
    """Logins until every worker's hashing threads have hashed: each then holds its block.

    Without it, a thread first used after the baseline looks like a leak. Which worker accepts
    a connection is the kernel's choice, so each round opens fresh connections and the warm-up
    goes on until every worker has grown by a block since `before`, taken before any hash
    (each worker has cores / workers threads).
    """
    form = {"grant_type": "password", "username": "soak-0@example.com", "password": PASSWORD}
    for _ in range(WARM_UP_ROUNDS):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            await asyncio.gather(
                *(
                    client.post("/api/v1/auth/token", data=form, headers={"Connection": "close"})
                    for _ in range(2 * CONNECTIONS)
                )
            )
        now = _rss_kib(master)
        if all(now[pid] - before[pid] >= HASH_BLOCK_KIB for pid in before):
            return
    pytest.fail(f"the warm-up never reached every worker's hasher: RSS {before} -> {now} KiB")


async def _client_loop(  # noqa: PLR0917 - one task's whole state
    client: httpx.AsyncClient,
    users: list[dict[str, str]],
    deadline: float,
    statuses: Counter[int],
    created: list[str],
    seed: int,
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        roll = rng.random()
        headers = rng.choice(users)
        if roll < 0.04:
            email = f"soak-{secrets.token_hex(6)}@example.com"
            response = await client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            if response.status_code == 201:
                created.append(email)
        elif roll < 0.06:
            response = await client.post(
                "/api/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "soak-0@example.com",
                    "password": PASSWORD,
                },
            )
        elif roll < 0.20:
            response = await client.patch(
                "/api/v1/users/me", json={"full_name": f"n{rng.randrange(1000)}"}, headers=headers
            )
        elif roll < 0.25:
            response = await client.get("/health/ready")
        elif roll < 0.30:
            response = await client.get("/api/v1/users/me", headers={"Authorization": "Bearer x"})
        else:
            response = await client.get("/api/v1/users/me", headers=headers)
        statuses[response.status_code] += 1


async def _traffic(
    client: httpx.AsyncClient,
    users: list[dict[str, str]],
    seconds: float,
    statuses: Counter[int],
    created: list[str],
) -> None:
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(
            _client_loop(client, users, deadline, statuses, created, seed)
            for seed in range(CONNECTIONS)
        )
    )


# How long the workers are left alone before their memory is read: in-flight work settles.
SETTLE_SECONDS = 3.0


async def _idle_rss_kib(master: int) -> dict[int, int]:
    """Each worker's RSS once the requests in flight have settled."""
    await asyncio.sleep(SETTLE_SECONDS)
    return _rss_kib(master)


async def test_soak(
    gunicorn: tuple[str, subprocess.Popen[bytes]], migrated_database_url: str
) -> None:
    base_url, master = gunicorn
    before_any_hash = _rss_kib(master.pid)
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        users = []
        for i in range(8):
            email = f"soak-{i}@example.com"
            assert (
                await client.post(
                    "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
                )
            ).status_code == 201
            token = await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": email, "password": PASSWORD},
            )
            users.append({"Authorization": f"Bearer {token.json()['access_token']}"})

        await _warm_every_hasher(base_url, master.pid, before_any_hash)

        statuses: Counter[int] = Counter()
        created: list[str] = []
        started = time.monotonic()
        # Memory is read only while every worker idles, after the hasher has given its blocks
        # back: mid-traffic, a reading depends on whether a hash just ran in that worker.
        await _traffic(client, users, SECONDS / 3, statuses, created)
        after_warm_up = await _idle_rss_kib(master.pid)
        await _traffic(client, users, SECONDS * 2 / 3, statuses, created)
        at_end = await _idle_rss_kib(master.pid)
        elapsed = time.monotonic() - started

    engine = create_async_engine(migrated_database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            stored = set(
                (await connection.execute(text("SELECT email FROM users"))).scalars().all()
            )
    finally:
        await engine.dispose()

    total = sum(statuses.values())
    growth = {pid: at_end[pid] / after_warm_up[pid] - 1 for pid in after_warm_up if pid in at_end}
    print(
        f"soak: {total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s) at {CONNECTIONS} "
        f"connections, statuses {dict(sorted(statuses.items()))}, {len(created)} registered; "
        f"worker RSS after warm-up {after_warm_up} KiB, at end {at_end} KiB, growth "
        + ", ".join(f"{g:+.1%}" for g in growth.values())
    )
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 201, 401}, statuses
    assert len(after_warm_up) == WORKERS
    assert set(created) <= {email.lower() for email in stored} | set(stored)
    assert all(g < MAX_RSS_GROWTH for g in growth.values()), growth
