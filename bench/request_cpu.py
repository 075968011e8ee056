"""CPU per request of the app itself: `make bench-cpu`.

Drives the ASGI app straight (no server, no HTTP client, no load generator) against a fresh,
migrated Postgres database (dropped afterwards) and Redis: `GET /api/v1/users/me` with a bearer
token and with an API key, and `GET /health/live` for scale, one request after another, with
rate limits off, on memory and on Redis, in interleaved rounds. Prints the median CPU time
(`time.process_time()`, this process only) per request. Sequential requests leave out what
concurrency adds (the server's HTTP parsing, queueing, pool waits): `make bench` measures that;
this isolates what the app's own code costs, which is what a change to it moves.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import secrets
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from harness import unlimited_rate_limits
from redis_without_pipeline import container_with_redis_limiter
from run import PASSWORD, fresh_database

from entrypoints.http.app import create_app
from entrypoints.settings import Settings

# Under callgrind (bench-instructions) start-up runs ~50 times slower than natively.
START_TIMEOUT_SECONDS = 300
SLOW_REDIS_TIMEOUT = 60.0

# Limits on Redis without the per-turn pipeline: what `pipeline_per_turn` is measured against.
REDIS_ALONE = "redis-alone"
CONFIGURATIONS = ("off", "memory", "redis")
WARM_UP = 300


def settings_for(limits: str, database_url: str, redis_url: str, run: str) -> Settings:
    """The service's production settings; `limits` is off, memory, redis or redis-alone."""
    rates = {
        name.removeprefix("ACCOUNTS_").lower(): value
        for name, value in unlimited_rate_limits().items()
    }
    return Settings(
        env="production",
        public_url="https://accounts.example.com",
        mail_url="smtp://127.0.0.1:25",
        mail_sender_enabled=False,
        database_url=database_url,
        # One algorithm across commits, so counts compare; `make bench` has a row per algorithm.
        jwt_algorithm="HS256",
        jwt_secret=secrets.token_urlsafe(48),
        access_token_ttl_seconds=3600,
        log_level="INFO",
        log_format="json",
        rate_limit_enabled=limits != "off",
        rate_limit_storage_url=redis_url if limits.startswith("redis") else "memory://",
        rate_limit_key_prefix=f"bench-cpu-{run}",
        # A storage failure answers 503 and fails the cell, never a request counted without it.
        rate_limit_fail_open=False,
        **rates,
    )


@contextlib.asynccontextmanager
async def started(
    settings: Settings, limits: str = "", *, slow: bool = False
) -> AsyncIterator[Any]:
    """The app started; with limits `redis-alone`, its Redis limiter sends each call alone.

    `slow` (for callgrind): a Redis limiter waits up to `SLOW_REDIS_TIMEOUT` seconds to connect
    and read, pipelined or not (`redis_without_pipeline.container_with_redis_limiter`).
    """
    container = None
    if limits == REDIS_ALONE or (limits == "redis" and slow):
        container = container_with_redis_limiter(
            settings, pipelined=limits == "redis", timeout=SLOW_REDIS_TIMEOUT if slow else None
        )
    app = create_app(settings, container)
    async with LifespanManager(app, startup_timeout=START_TIMEOUT_SECONDS) as manager:
        yield manager.app


async def credentials(app: Any) -> dict[str, list[tuple[bytes, bytes]]]:
    """Headers of a fresh user: bearer token and API key."""
    email = f"cpu-{secrets.token_hex(4)}@example.com"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        (
            await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        ).raise_for_status()
        token = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        token.raise_for_status()
        bearer = f"Bearer {token.json()['access_token']}"
        key = await client.post(
            "/api/v1/users/me/api-keys", json={"name": "cpu"}, headers={"Authorization": bearer}
        )
        key.raise_for_status()
    return {
        "me_bearer": [(b"authorization", bearer.encode())],
        "me_api_key": [(b"x-api-key", key.json()["key"].encode())],
        "live": [],
    }


PATHS = {"me_bearer": "/api/v1/users/me", "me_api_key": "/api/v1/users/me", "live": "/health/live"}


Serve = Callable[[int], Awaitable[None]]


def sequential(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[Serve, set[int]]:
    """`serve(n)`: `n` GET requests one after another straight through ASGI; the statuses seen."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def serve(count: int) -> None:
        for _ in range(count):
            await app({**scope, "state": {}}, receive, send)

    return serve, statuses


async def cpu_per_request(app: Any, path: str, headers: list[tuple[bytes, bytes]], n: int) -> float:
    """Microseconds of this process's CPU per request, over `n` sequential requests."""
    serve, statuses = sequential(app, path, headers)
    # The access log is rendered but kept in memory: a terminal's speed is not the app's.
    with contextlib.redirect_stderr(io.StringIO()):
        await serve(min(n, WARM_UP))  # caches, prepared statements, pooled connections
        started_at = time.process_time()
        await serve(n)
        elapsed = time.process_time() - started_at
    if statuses != {200}:
        raise RuntimeError(f"{path} answered {sorted(statuses)}")
    return elapsed / n * 1e6


async def measure(args: argparse.Namespace, database_url: str) -> dict[str, dict[str, list[float]]]:
    run = secrets.token_hex(4)
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.rounds):
        for limits in args.limits.split(","):
            settings = settings_for(limits, database_url, args.redis_url, run)
            async with started(settings, limits) as app:
                headers = await credentials(app)
                for name, path in PATHS.items():
                    micros = await cpu_per_request(app, path, headers[name], args.requests)
                    results.setdefault(name, {}).setdefault(limits, []).append(micros)
    return results


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the fresh database is created (and dropped) and which Redis the limits use."""
    parser.add_argument(
        "--admin-database-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_store_arguments(parser)
    parser.add_argument("--requests", type=int, default=3000, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limits", default=",".join(CONFIGURATIONS))
    args = parser.parse_args()
    with fresh_database(args.admin_database_url) as database_url:
        # On asyncio's own loop, like the service's workers (entrypoints/worker.py).
        results = asyncio.run(measure(args, database_url))
    limits = args.limits.split(",")
    print(f"CPU per request, median of {args.rounds} rounds of {args.requests} (µs)")
    print(f"| {'request':<12} | " + " | ".join(f"limits {name:<7}" for name in limits) + " |")
    print(f"|{'-' * 14}|" + "|".join("-" * 16 for _ in limits) + "|")
    for name, by_limits in results.items():
        cells = " | ".join(f"{statistics.median(by_limits[name_]):>14.0f}" for name_ in limits)
        print(f"| {name:<12} | {cells} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
