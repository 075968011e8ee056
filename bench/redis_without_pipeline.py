"""The service's Redis rate limiter built another way: `RedisRateLimiter(..., pipelined=False)`
(each call its own `EVALSHA`, the baseline the per-turn pipeline is measured against:
`request_instructions.py`, `request_cpu.py` limits `redis-alone`, `rate_limit_overhead.py`,
`run.py --redis-each-call-alone`), or with long timeouts for callgrind; put in place with
`Container.rate_limiter.override`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import providers

from adapters.rate_limiting.redis_rate_limiter import RedisRateLimiter
from application.ports.rate_limiting import RateLimiter
from entrypoints.container import Container
from entrypoints.settings import Settings


async def _redis_limiter(
    settings: Settings, pipelined: bool, io_timeout: float | None
) -> AsyncIterator[RateLimiter]:
    url = settings.rate_limits.redis_url
    if url is None:
        raise ValueError("the Redis limiter needs a redis:// rate-limit storage URL")
    timeouts = (
        {} if io_timeout is None else {"connect_timeout": io_timeout, "read_timeout": io_timeout}
    )
    limiter = RedisRateLimiter(
        url,
        settings.rate_limits.strategy,
        key_prefix=settings.rate_limits.key_prefix,
        pipelined=pipelined,
        **timeouts,
    )
    try:
        yield limiter
    finally:
        await limiter.aclose()


def container_with_redis_limiter(
    settings: Settings, *, pipelined: bool, timeout: float | None = None
) -> Container:
    """The service's container whose Redis rate limiter pipelines its calls per turn of the
    event loop (as in production) or sends each alone.

    `timeout`: to connect and read, instead of the limiter's defaults. Under callgrind
    everything runs ~50 times slower, and the 0.5 s read timeout fires on 32 clients' replies,
    pipelined or not; a timeout costs no instructions either way.
    """
    container = Container(settings=settings)
    container.rate_limiter.override(
        providers.Resource(_redis_limiter, settings, pipelined, timeout)
    )
    return container
