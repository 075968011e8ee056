"""CPU per `RateLimiter.hit_all` call on Redis, one policy: `python bench/rate_limiter_cpu.py`.

Sequential calls on one key with a limit that is never reached, for each strategy; prints the
process CPU time (`time.process_time`) and wall time per call. The worker's share of a request's
rate limiting is the CPU figure; the wall figure adds the round trip and Redis's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time

from adapters.rate_limiting.storage import open_rate_limiter
from application.ports.rate_limiting import Charge, RateLimitPolicy, Strategy

STRATEGIES: tuple[Strategy, ...] = ("moving-window", "fixed-window", "sliding-window-counter")
POLICY = RateLimitPolicy("user", 1_000_000, 60)
WARM_UP_CALLS = 200


async def measure(url: str, strategy: Strategy, calls: int) -> tuple[float, float]:
    """Seconds of CPU and of wall time per call."""
    prefix = f"bench-cpu-{secrets.token_hex(4)}"
    async with open_rate_limiter(url, strategy, key_prefix=prefix) as limiter:
        charges = [Charge(POLICY, "user:bench")]
        for _ in range(WARM_UP_CALLS):
            await limiter.hit_all(charges)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            await limiter.hit_all(charges)
        return (time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    arguments = parser.parse_args()
    for strategy in STRATEGIES:
        cpu, wall = asyncio.run(measure(arguments.redis_url, strategy, arguments.calls))
        print(
            f"{strategy:<24}{cpu * 1e6:>6.0f} us CPU{wall * 1e6:>8.0f} us wall per call "
            f"({arguments.calls} calls)"
        )


if __name__ == "__main__":
    main()
