"""A worker started as the image starts it stays under 150 MiB resident after a login storm.

Gunicorn runs with the image's heap environment (the `MALLOC_*` variables of the Dockerfile's
runtime stage: glibc reads them when a process starts), `gunicorn.conf.py` and its default
worker count, one per core, which leaves each worker one hashing thread.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.http.conftest import JWT_SECRET, PASSWORD
from tests.integration.servers import start_gunicorn, stop_gunicorn

# The resident memory read is Linux's /proc; every machine of the project is Linux.
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads VmRSS from /proc")

MAX_WORKER_RSS_MIB = 150
# What one Argon2 block (19 MiB) adds once a hashing thread has hashed, less a margin: proof
# that the storm reached a hasher, so the bound is not read off idle workers.
HASH_BLOCK_MIB = 15
STORM_ROUNDS = 4
STORM_CONNECTIONS = 64
DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"
# Gunicorn's default worker count (gunicorn.conf.py): one per core this process may use.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _image_heap_environment() -> dict[str, str]:
    """The glibc heap settings the image's runtime stage gives every process."""
    runtime = DOCKERFILE.read_text().split(" AS runtime", 1)[1]
    instructions = "\n".join(line for line in runtime.splitlines() if not line.startswith("#"))
    return dict(re.findall(r"\b(MALLOC_[A-Z_]+)=([^\s\\]+)", instructions))


def _workers_rss_mib(master: int) -> dict[int, float]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    rss = {}
    for pid in map(int, children):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1]) / 1024
    return rss


async def _login_storm(base_url: str, email: str) -> None:
    form = {"grant_type": "password", "username": email, "password": PASSWORD}
    for _ in range(STORM_ROUNDS):
        # Fresh connections each round, so the kernel spreads them over the workers.
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/auth/token", data=form, headers={"Connection": "close"})
                    for _ in range(STORM_CONNECTIONS)
                )
            )
        assert {answer.status_code for answer in answers} == {200}


async def test_workers_stay_under_the_memory_bound_after_a_login_storm(
    migrated_database_url: str, clean_tables: None, tmp_path: Path
) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "ACCOUNTS_"))},
        **_image_heap_environment(),
        "ACCOUNTS_DATABASE_URL": migrated_database_url,
        "ACCOUNTS_JWT_SECRET": JWT_SECRET,
        "ACCOUNTS_LOG_LEVEL": "WARNING",
        "ACCOUNTS_RATE_LIMIT_ENABLED": "false",
    }
    server = start_gunicorn(environment, tmp_path / "gunicorn.log", workers=CORES)
    try:
        email = "storm@example.com"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            registered = await client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
        assert registered.status_code == 201, registered.text
        before = _workers_rss_mib(server.process.pid)

        await _login_storm(server.base_url, email)
        await asyncio.sleep(1.0)
        after = _workers_rss_mib(server.process.pid)
    finally:
        stop_gunicorn(server)

    assert max(after[pid] - before[pid] for pid in before) > HASH_BLOCK_MIB, (before, after)
    assert all(rss < MAX_WORKER_RSS_MIB for rss in after.values()), (before, after)
