"""The `RateLimiter` port in process memory, on the `limits` library's window strategies.

Each worker counts on its own (see `RateLimitSettings.per_process`); Redis storage is
`redis_rate_limiter`. The synchronous storage, not `limits.aio`'s: its calls are dictionary work
under a per-key lock, and it sweeps expired entries from a timer thread at most every 10 ms,
where the asyncio one starts a sweep after every hit with a thread hop per key.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.strategies import RateLimiter as LimitsStrategy

from application.ports.rate_limiting import (
    Charge,
    RateLimiter,
    RateLimitPolicy,
    RateLimitStatus,
    Strategy,
)

STRATEGIES: dict[Strategy, type[LimitsStrategy]] = {
    "fixed-window": FixedWindowRateLimiter,
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}


class LimitsRateLimiter(RateLimiter):
    """Counts in `limits`' memory storage with one of its three window strategies."""

    def __init__(self, strategy: Strategy) -> None:
        self._storage = MemoryStorage()
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
            status = self._hit(charge)
            statuses.append(status)
            if not status.allowed:
                break
        return statuses

    def _hit(self, charge: Charge) -> RateLimitStatus:
        item = self._item(charge.policy)
        if isinstance(self._limiter, FixedWindowRateLimiter):
            allowed, remaining, reset_at = self._hit_fixed_window(item, charge.key)
        else:
            allowed = self._limiter.hit(item, charge.key)
            stats = self._limiter.get_window_stats(item, charge.key)
            remaining, reset_at = stats.remaining, stats.reset_time
        return RateLimitStatus(
            policy=charge.policy,
            allowed=allowed,
            # A refusal leaves nothing, whatever a window's weighted estimate rounds to.
            remaining=max(0, remaining) if allowed else 0,
            reset_after=max(0.0, reset_at - time.time()),
        )

    def _hit_fixed_window(self, item: RateLimitItem, key: str) -> tuple[bool, int, float]:
        # FixedWindowRateLimiter.hit increments and drops the count, then get_window_stats
        # reads it back: keeping the count from the increment saves a lookup.
        storage_key = item.key_for(key)
        count = self._storage.incr(storage_key, item.get_expiry())
        reset_at = self._storage.get_expiry(storage_key)
        return count <= item.amount, item.amount - count, reset_at

    async def check(self) -> None:
        """The counters live in this process: there is nothing that could fail to answer."""
