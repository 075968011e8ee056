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


def is_supported_storage_url(url: str) -> bool:
    """Whether `url` names a storage a rate limiter can open (checked at start-up)."""
    return url.partition("://")[0] in (*MEMORY_SCHEMES, *REDIS_SCHEMES) and "://" in url


def is_memory_storage_url(url: str) -> bool:
    """Whether `url` keeps counters inside the process (so each worker counts on its own)."""
    return url.partition("://")[0] in MEMORY_SCHEMES


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
