"""What rate limiting costs an authenticated request: `make bench-ratelimit`.

Serves `GET /api/v1/users/me` (bearer) in-process through httpx's ASGI transport with rate
limits disabled, on memory storage, on Redis storage, and on Redis with every call sent alone
(`redis-alone`: without the limiter's per-turn pipeline, `bench/redis_without_pipeline.py`), in
interleaved rounds so drift hits all alike, and prints each one's requests/second against the
disabled baseline.

Targets: memory costs under 10 %, Redis under 25 %. The database is a fresh SQLite file unless
`--database-url` names another; Redis is `--redis-url` (default `$TEST_REDIS_URL`, else the
local one), under a key prefix of this run's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from redis_without_pipeline import container_with_redis_limiter

from entrypoints.container import Container, migrate_database
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - a throwaway bench account
USERS = 20
REDIS_ALONE = "redis-alone"


@asynccontextmanager
async def serving(
    settings: Settings, container: Container | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, container)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client


async def tokens_for_users(client: httpx.AsyncClient) -> list[dict[str, str]]:
    """Register and log in `USERS` users; each stays well under its own `user` limit."""
    run = secrets.token_hex(4)
    headers = []
    for i in range(USERS):
        email = f"bench-{run}-{i}@example.com"
        created = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        created.raise_for_status()
        token = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        token.raise_for_status()
        headers.append({"Authorization": f"Bearer {token.json()['access_token']}"})
    return headers


async def requests_per_second(
    client: httpx.AsyncClient, users: list[dict[str, str]], requests: int, concurrency: int
) -> float:
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            response = await client.get("/api/v1/users/me", headers=users[i % len(users)])
            if response.status_code != 200:
                raise RuntimeError(f"GET /users/me answered {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        database_url = arguments.database_url or (
            f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        )
        common: dict[str, Any] = {
            "database_url": database_url,
            "jwt_secret": secrets.token_urlsafe(48),
            "log_level": "WARNING",
            "rate_limit_strategy": arguments.strategy,
            # A storage failure answers 503 and stops the run, never a request served without it.
            "rate_limit_fail_open": False,
        }
        await asyncio.to_thread(migrate_database, Settings(**common))
        configurations = {
            "disabled": Settings(**common, rate_limit_enabled=False),
            "memory": Settings(**common, rate_limit_storage_url="memory://"),
            **{
                name: Settings(
                    **common,
                    rate_limit_storage_url=arguments.redis_url,
                    rate_limit_key_prefix=f"bench-{secrets.token_hex(8)}",
                )
                for name in ("redis", REDIS_ALONE)
            },
        }
        async with AsyncExitStack() as stack:
            clients = {}
            for name, settings in configurations.items():
                container = None
                if name == REDIS_ALONE:
                    container = container_with_redis_limiter(settings, pipelined=False)
                clients[name] = await stack.enter_async_context(serving(settings, container))
            users = await tokens_for_users(clients["disabled"])
            for client in clients.values():
                await requests_per_second(client, users, arguments.requests // 5, 4)
            results: dict[str, list[float]] = {name: [] for name in clients}
            for _ in range(arguments.rounds):
                for name, client in clients.items():
                    rate = await requests_per_second(
                        client, users, arguments.requests, arguments.concurrency
                    )
                    results[name].append(rate)

    baseline = statistics.median(results["disabled"])
    print(
        f"GET /api/v1/users/me, {arguments.requests} requests x {arguments.rounds} rounds, "
        f"concurrency {arguments.concurrency}, strategy {arguments.strategy}, "
        f"database {database_url.split('://')[0]}"
    )
    print(f"{'storage':<12}{'req/s (median)':>16}{'vs disabled':>14}{'overhead':>10}")
    for name, rates in results.items():
        rate = statistics.median(rates)
        ratio = rate / baseline
        print(f"{name:<12}{rate:>16.0f}{ratio:>14.3f}{(1 - ratio) * 100:>9.1f}%")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--strategy",
        default="moving-window",
        choices=["fixed-window", "moving-window", "sliding-window-counter"],
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_arguments()))
