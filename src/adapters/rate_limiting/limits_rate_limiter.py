"""The `RateLimiter` port in process memory, on the `limits` library's asyncio strategies.

Each worker counts on its own (see `Settings.rate_limits_per_process`); Redis storage is
`redis_rate_limiter`. Only `limits.aio` is used, whose memory storage never blocks the loop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.aio.strategies import RateLimiter as LimitsStrategy

from adapters.rate_limiting.strategy import Strategy
from application.ports.rate_limiting import Charge, RateLimiter, RateLimitPolicy, RateLimitStatus

STRATEGIES: dict[Strategy, type[LimitsStrategy]] = {
    "fixed-window": FixedWindowRateLimiter,
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}


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


class LimitsRateLimiter(RateLimiter):
    """Counts in `limits`' memory storage with one of its three window strategies."""

    def __init__(self, strategy: Strategy) -> None:
        self._storage = _SweepingMemoryStorage()
        self._limiter = STRATEGIES[strategy](self._storage)
        self._items: dict[RateLimitPolicy, RateLimitItem] = {}

    def _item(self, policy: RateLimitPolicy) -> RateLimitItem:
        item = self._items.get(policy)
        if item is None:
            item = RateLimitItemPerSecond(policy.limit, policy.window_seconds)
            self._items[policy] = item
        return item

    async def hit_all(self, charges: Sequence[Charge]) -> list[RateLimitStatus]:
        statuses = []
        for charge in charges:
            status = await self._hit(charge)
            statuses.append(status)
            if not status.allowed:
                break
        return statuses

    async def _hit(self, charge: Charge) -> RateLimitStatus:
        item = self._item(charge.policy)
        if isinstance(self._limiter, FixedWindowRateLimiter):
            allowed, remaining, reset_at = await self._hit_fixed_window(item, charge.key)
        else:
            allowed = await self._limiter.hit(item, charge.key)
            stats = await self._limiter.get_window_stats(item, charge.key)
            remaining, reset_at = stats.remaining, stats.reset_time
        return RateLimitStatus(
            policy=charge.policy,
            allowed=allowed,
            # A refusal leaves nothing, whatever a window's weighted estimate rounds to.
            remaining=max(0, remaining) if allowed else 0,
            reset_after=max(0.0, reset_at - time.time()),
        )

    async def _hit_fixed_window(self, item: RateLimitItem, key: str) -> tuple[bool, int, float]:
        # FixedWindowRateLimiter.hit increments and drops the count, then get_window_stats
        # reads it back: keeping the count from the increment saves a lookup.
        storage_key = item.key_for(key)
        count = await self._storage.incr(storage_key, item.get_expiry())
        reset_at = await self._storage.get_expiry(storage_key)
        return count <= item.amount, item.amount - count, reset_at

    async def check(self) -> None:
        """The counters live in this process: there is nothing that could fail to answer."""
