"""The rate limiter the settings name: `limits` in process memory, or Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.rate_limiting.limits_rate_limiter import LimitsRateLimiter
from adapters.rate_limiting.redis_rate_limiter import RedisRateLimiter
from application.ports.rate_limiting import RateLimiter, Strategy


@asynccontextmanager
async def open_rate_limiter(
    redis_url: str | None,
    strategy: Strategy,
    *,
    key_prefix: str = "accounts",
    connect_timeout: float = 0.25,
    read_timeout: float = 0.5,
) -> AsyncIterator[RateLimiter]:
    """The rate limiter on Redis at `redis_url`, or in this process's memory when it is None;
    its connections are closed on exit."""
    if redis_url is None:
        yield LimitsRateLimiter(strategy)
        return
    limiter = RedisRateLimiter(
        redis_url,
        strategy,
        key_prefix=key_prefix,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    try:
        yield limiter
    finally:
        await limiter.aclose()
