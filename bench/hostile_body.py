"""What a hostile JSON body costs the event loop: `python bench/hostile_body.py`.

Drives the ASGI app straight (no server) on a throwaway SQLite file, rate limits off: a
registration with one unknown field (the baseline), then one with N unknown fields (default
70,000, about 0.9 MB), one request after another, in interleaved rounds. Every request is
refused before the database is reached. Prints the median CPU time (`time.process_time()`)
of each, the ratio between them and the size of each answer; the ratio is what to compare
between runs and machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from entrypoints.http.app import create_app
from entrypoints.settings import Settings

REGISTER = "/api/v1/auth/register"
JSON = {"Content-Type": "application/json"}


def body(unknown_fields: int) -> bytes:
    fields = {f"f{i}": 1 for i in range(unknown_fields)}
    document = {"email": "ada@example.com", "password": "correct-horse-battery-staple-42"}
    return json.dumps({**document, **fields}).encode()


async def measure(fields: int, rounds: int, directory: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'bench.db'}",
        rate_limit_enabled=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    bodies = {"baseline (1 field)": body(1), f"hostile ({fields:,} fields)": body(fields)}
    seconds: dict[str, list[float]] = {name: [] for name in bodies}
    sizes: dict[str, int] = {}
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(rounds):
                for name, content in bodies.items():
                    started = time.process_time()
                    response = await client.post(REGISTER, content=content, headers=JSON)
                    seconds[name].append(time.process_time() - started)
                    sizes[name] = len(response.content)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, median in medians.items():
        print(f"{name:>24}: {median * 1000:8.2f} ms CPU, answer {sizes[name]:,} bytes")
    baseline, hostile = medians.values()
    print(f"{'ratio':>24}: {hostile / baseline:8.1f}x the baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fields", type=int, default=70_000, help="unknown fields (%(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (%(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accounts-bench-") as directory:
        asyncio.run(measure(args.fields, args.rounds, Path(directory)))


if __name__ == "__main__":
    main()
