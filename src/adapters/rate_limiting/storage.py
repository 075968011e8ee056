"""Which rate limiter a storage URL opens: `limits` in process memory, or Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.rate_limiting.limits_rate_limiter import LimitsRateLimiter
from adapters.rate_limiting.redis_rate_limiter import RedisRateLimiter
from adapters.rate_limiting.strategy import Strategy
from application.ports.rate_limiting import RateLimiter

MEMORY_SCHEMES = ("memory", "async+memory")
REDIS_SCHEMES = ("redis", "rediss", "async+redis", "async+rediss")
# The settings accept exactly these at start-up (`entrypoints.settings`, which keeps a copy).


@asynccontextmanager
async def open_rate_limiter(
    url: str,
    strategy: Strategy,
    *,
    key_prefix: str = "accounts",
    connect_timeout: float = 0.25,
    read_timeout: float = 0.5,
) -> AsyncIterator[RateLimiter]:
    """The rate limiter for `url`, its connections closed on exit."""
    scheme = url.partition("://")[0]
    if scheme in MEMORY_SCHEMES:
        yield LimitsRateLimiter(strategy)
        return
    if scheme not in REDIS_SCHEMES:
        raise ValueError(f"Unsupported rate-limit storage URL scheme {scheme!r}")
    limiter = RedisRateLimiter(
        url,
        strategy,
        key_prefix=key_prefix,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    try:
        yield limiter
    finally:
        await limiter.aclose()
