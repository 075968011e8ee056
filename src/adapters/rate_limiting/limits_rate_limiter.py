"""The `RateLimiter` port on the `limits` library's asyncio API: in-process memory or Redis.

Only `limits.aio` is used: a synchronous storage would block the event loop on every request.
Round trips to Redis per `hit` (measured with MONITOR): moving and sliding windows run one Lua
script to spend and one to read the window; the fixed window increments (an EXPIRE follows on a
window's first hit) and reads the key's TTL.
"""

from __future__ import annotations

import time
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.storage.redis.coredis import CoredisBridge
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.aio.strategies import RateLimiter as LimitsStrategy
from limits.errors import StorageError

from application.errors import StorageUnavailable
from application.ports.rate_limiting import RateLimiter, RateLimitPolicy, RateLimitStatus

Strategy = Literal["fixed-window", "moving-window", "sliding-window-counter"]
STRATEGIES: dict[Strategy, type[LimitsStrategy]] = {
    "fixed-window": FixedWindowRateLimiter,
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}
MEMORY_SCHEMES = ("memory", "async+memory")
REDIS_SCHEMES = ("redis", "rediss", "async+redis", "async+rediss")
# OSError covers refused and reset connections that escape the client's own error types.
_STORAGE_ERRORS = (StorageError, OSError, TimeoutError)


def is_supported_storage_url(url: str) -> bool:
    """Whether `url` names a storage this adapter can open (checked at start-up)."""
    return url.partition("://")[0] in (*MEMORY_SCHEMES, *REDIS_SCHEMES) and "://" in url


def is_memory_storage_url(url: str) -> bool:
    """Whether `url` keeps counters inside the process (so each worker counts on its own)."""
    return url.partition("://")[0] in MEMORY_SCHEMES


UPSTREAM_SWEEP_HOOK = "_MemoryStorage__schedule_expiry"  # MemoryStorage.__schedule_expiry


class _SweepingMemoryStorage(MemoryStorage):
    """`limits`' memory storage, sweeping out expired entries at most once per interval.

    Upstream schedules a sweep after every hit, and the sweep hands each key to a thread
    (`asyncio.to_thread`): under load that is a thread hop per key per request, measured at
    about 20 % of an authenticated request with the moving window (bench/rate_limit_overhead.py)
    against about 4 % for the fixed window, which has no such step. Every read already ignores
    expired entries, so the sweep only frees memory, and once per interval is enough.
    """

    SWEEP_INTERVAL_SECONDS = 5.0

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0

    async def _schedule_sweep(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_INTERVAL_SECONDS
        await getattr(MemoryStorage, UPSTREAM_SWEEP_HOOK)(self)


# The one reach into limits' internals: the base class calls its private `__schedule_expiry`
# after every hit (limits is pinned; a test checks the hook still exists).
setattr(_SweepingMemoryStorage, UPSTREAM_SWEEP_HOOK, _SweepingMemoryStorage._schedule_sweep)


def _open_storage(
    url: str, *, key_prefix: str, connect_timeout: float, read_timeout: float
) -> Storage:
    scheme, _, rest = url.partition("://")
    if scheme in MEMORY_SCHEMES:
        return _SweepingMemoryStorage()
    if scheme in REDIS_SCHEMES:
        return RedisStorage(
            f"async+{scheme.removeprefix('async+')}://{rest}",
            # Short timeouts: a dead or stalled Redis must cost a request milliseconds, not
            # the client's default of waiting forever, whether the throttle fails open or not.
            wrap_exceptions=True,
            key_prefix=key_prefix,
            connect_timeout=connect_timeout,
            stream_timeout=read_timeout,
        )
    raise ValueError(f"Unsupported rate-limit storage URL scheme {scheme!r}")


class LimitsRateLimiter(RateLimiter):
    """Counts in `limits`' async storage with one of its three window strategies."""

    def __init__(
        self,
        storage_url: str,
        strategy: Strategy,
        *,
        key_prefix: str = "accounts",
        connect_timeout: float = 0.25,
        read_timeout: float = 0.5,
    ) -> None:
        self._storage = _open_storage(
            storage_url,
            key_prefix=key_prefix,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._strategy = strategy
        self._limiter = STRATEGIES[strategy](self._storage)
        self._items: dict[RateLimitPolicy, RateLimitItem] = {}

    def _item(self, policy: RateLimitPolicy) -> RateLimitItem:
        item = self._items.get(policy)
        if item is None:
            item = RateLimitItemPerSecond(policy.limit, policy.window_seconds)
            self._items[policy] = item
        return item

    async def hit(self, policy: RateLimitPolicy, key: str) -> RateLimitStatus:
        item = self._item(policy)
        # The strategy is part of the key: each strategy stores another data type, and a
        # restart with a new strategy must not meet the old one's keys as errors.
        identifiers = (self._strategy, key)
        try:
            if isinstance(self._limiter, FixedWindowRateLimiter):
                allowed, remaining, reset_at = await self._hit_fixed_window(item, identifiers)
            else:
                allowed = await self._limiter.hit(item, *identifiers)
                stats = await self._limiter.get_window_stats(item, *identifiers)
                remaining, reset_at = stats.remaining, stats.reset_time
        except _STORAGE_ERRORS as error:
            raise StorageUnavailable("The rate-limit store is unavailable.") from error
        return RateLimitStatus(
            policy=policy,
            allowed=allowed,
            # A refusal leaves nothing, whatever a window's weighted estimate rounds to.
            remaining=max(0, remaining) if allowed else 0,
            reset_after=max(0.0, reset_at - time.time()),
        )

    async def _hit_fixed_window(
        self, item: RateLimitItem, identifiers: tuple[str, ...]
    ) -> tuple[bool, int, float]:
        # FixedWindowRateLimiter.hit increments and drops the count, then get_window_stats
        # reads it back: keeping the count from the increment saves one round trip.
        key = item.key_for(*identifiers)
        count = await self._storage.incr(key, item.get_expiry())
        reset_at = await self._storage.get_expiry(key)
        return count <= item.amount, item.amount - count, reset_at

    async def check(self) -> None:
        try:
            healthy = await self._storage.check()
        except _STORAGE_ERRORS as error:
            raise StorageUnavailable("The rate-limit store is unavailable.") from error
        if not healthy:
            raise StorageUnavailable("The rate-limit store does not answer.")

    async def aclose(self) -> None:
        """Close the store's connections."""
        if isinstance(self._storage, RedisStorage) and isinstance(
            self._storage.bridge, CoredisBridge
        ):
            self._storage.bridge.get_connection().connection_pool.disconnect()
