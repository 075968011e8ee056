"""Two service processes sharing one Redis together allow exactly the limit, not twice it."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from pathlib import Path

import httpx

from tests.integration.servers import start_service, stop

LIMIT = 5


async def test_two_processes_sharing_redis_allow_exactly_the_limit(
    migrated_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")},
        "ACCOUNTS_DATABASE_URL": migrated_database_url,
        "ACCOUNTS_JWT_SECRET": secrets.token_urlsafe(48),
        "ACCOUNTS_LOG_LEVEL": "WARNING",
        "ACCOUNTS_RATE_LIMIT_STORAGE_URL": redis_url,
        "ACCOUNTS_RATE_LIMIT_KEY_PREFIX": f"test-{secrets.token_hex(8)}",
        "ACCOUNTS_RATE_LIMIT_ANONYMOUS": f"{LIMIT}/minute",
    }
    processes: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for index in range(2):
            process, base_url = await asyncio.to_thread(
                start_service, env, tmp_path / f"service-{index}.log"
            )
            processes.append(process)
            bases.append(base_url)
        async with httpx.AsyncClient(timeout=10) as client:
            # No credentials: each request spends the anonymous policy of 127.0.0.1.
            responses = [
                await client.get(f"{bases[i % 2]}/api/v1/users/me") for i in range(LIMIT * 2)
            ]
    finally:
        for process in processes:
            await asyncio.to_thread(stop, process)

    statuses = [r.status_code for r in responses]
    assert statuses == [401] * LIMIT + [429] * LIMIT
    remaining = [r.headers["ratelimit"].split(";")[1] for r in responses[:LIMIT]]
    assert remaining == [f"r={n}" for n in range(LIMIT - 1, -1, -1)]
