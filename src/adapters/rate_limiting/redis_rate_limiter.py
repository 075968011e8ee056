"""The `RateLimiter` port on Redis through redis-py's asyncio client: one round trip per request.

A request's charges (one to three policies) are spent by one Lua script, run with EVALSHA
(redis-py's `register_script` loads it again after a NOSCRIPT, e.g. after a Redis restart). The
script follows the `limits` library's three strategies (its Redis Lua scripts and its
`get_window_stats`): the same decisions, `remaining` and time to reset, but for every charge at
once, stopping at the first refusal, and on Redis's own clock (`TIME`), so that workers on
different hosts agree on the windows. Redis 7 replicates a script's effects, not the script, so
reading the clock before writing is safe.

All the keys of one call go to one script, so this needs a single Redis (or a primary with
replicas), not Redis Cluster, whose keys of one script must share a hash slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from adapters.rate_limiting.strategy import Strategy
from application.errors import StorageUnavailable
from application.ports.rate_limiting import Charge, RateLimiter, RateLimitStatus

# OSError covers refused and reset connections that escape the client's own error types.
_STORAGE_ERRORS = (RedisError, OSError, TimeoutError)

# Times inside the scripts are microseconds; `int` writes a Lua number as Redis expects an
# integer argument (Redis may render a large Lua number in exponent notation).
_PRELUDE = """
local function int(number)
    return string.format('%.0f', number)
end
"""

# Each strategy defines `spend(charge, limit, window, now)`, returning whether the charge was
# allowed (and then spent), what is left and the microseconds until the window moves on.
# The fixed window counts only what it allows (limits' script counts refusals too, above the
# limit): the same answers, and a count that never passes the limit.
_FIXED_WINDOW = """
local function spend(charge, limit, window, now)
    local key = KEYS[charge]
    local count = tonumber(redis.call('GET', key)) or 0
    if count >= limit then
        return false, 0, redis.call('PTTL', key) * 1000
    end
    count = redis.call('INCR', key)
    if count == 1 then
        redis.call('PEXPIRE', key, int(window / 1000))
    end
    return true, limit - count, redis.call('PTTL', key) * 1000
end
"""

# A sorted set of request times, not limits' list: limits finds the window's oldest entry with
# a binary search of LINDEX calls, each of which walks the list's nodes, so a request costs
# O(log(limit) * limit / node size) in Redis, and the bench's limits of 1,000,000/minute keep
# lists that long. Here every step is O(log n): trim what left the window, count, add, and read
# the entry whose departure frees a slot. A member is the time and the count before it, unique
# even for two requests in the same microsecond.
_MOVING_WINDOW = """
local function spend(charge, limit, window, now)
    local key = KEYS[charge]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. int(now - window))
    local count = redis.call('ZCARD', key)
    local allowed = count < limit
    if allowed then
        redis.call('ZADD', key, int(now), int(now) .. ':' .. count)
        redis.call('PEXPIRE', key, int(window / 1000))
        count = count + 1
    end
    -- Allowed, the oldest entry; refused, the one whose departure brings the count under the
    -- limit (the same entry unless the limit was lowered).
    local rank = math.max(0, count - limit)
    local oldest = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
    local remaining = 0
    if allowed then
        remaining = limit - count
    end
    return allowed, remaining, tonumber(oldest[2]) + window - now
end
"""

# limits' two counters per key: the current window's, which lives two windows and is renamed to
# the previous window's once one window has passed, and the previous count weighted by the
# share of it still inside the moving window. limits' reset is a TTL modulo a step, which is 0
# when a window has just begun; here that case is the whole step, so the wait stays above 0.
_SLIDING_WINDOW_COUNTER = """
local function next_step(ttl, step)
    local left = ttl % step
    if left == 0 then
        return step
    end
    return left
end

local function spend(charge, limit, window, now)
    local current, previous = KEYS[2 * charge - 1], KEYS[2 * charge]
    local window_ms = window / 1000
    local current_ttl = redis.call('PTTL', current)
    if current_ttl > 0 and current_ttl < window_ms then
        redis.call('RENAME', current, previous)
        redis.call('SET', current, 0, 'PX', int(current_ttl + window_ms))
    end
    local previous_count = tonumber(redis.call('GET', previous)) or 0
    local previous_ttl = math.max(0, redis.call('PTTL', previous))
    local current_count = tonumber(redis.call('GET', current)) or 0
    current_ttl = math.max(0, redis.call('PTTL', current))
    local weighted = math.floor(previous_count * previous_ttl / window_ms) + current_count
    local allowed = weighted < limit
    local remaining = 0
    if allowed then
        if redis.call('EXISTS', current) == 1 then
            redis.call('INCR', current)
        else
            redis.call('SET', current, 1, 'PX', int(2 * window_ms))
            current_ttl = 2 * window_ms
        end
        current_count = current_count + 1
        remaining = limit - weighted - 1
    end
    local reset_after = window_ms
    if previous_count > 0 and previous_ttl > 0 then
        reset_after = math.min(reset_after, next_step(previous_ttl, window_ms / previous_count))
    end
    if current_count > 0 and current_ttl > 0 then
        reset_after = math.min(reset_after, next_step(current_ttl, window_ms))
    end
    return allowed, remaining, reset_after * 1000
end
"""

# KEYS: each charge's key (two for the sliding window counter); ARGV: each charge's limit and
# window in seconds. Returns three integers per charge processed: allowed (1 or 0), remaining,
# and the milliseconds until the window moves on, rounded up.
_SPEND_IN_ORDER = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local replies = {}
for charge = 1, #ARGV / 2 do
    local limit = tonumber(ARGV[2 * charge - 1])
    local window = tonumber(ARGV[2 * charge]) * 1000000
    local allowed, remaining, reset_after = spend(charge, limit, window, now)
    replies[#replies + 1] = allowed and 1 or 0
    replies[#replies + 1] = remaining
    replies[#replies + 1] = math.ceil(reset_after / 1000)
    if not allowed then
        break
    end
end
return replies
"""

_STRATEGY_SCRIPTS: dict[Strategy, str] = {
    "fixed-window": _FIXED_WINDOW,
    "moving-window": _MOVING_WINDOW,
    "sliding-window-counter": _SLIDING_WINDOW_COUNTER,
}
_REPLIES_PER_CHARGE = 3


class RedisRateLimiter(RateLimiter):
    """Counts in Redis: one Lua script spends all of a request's charges on Redis's clock."""

    def __init__(
        self,
        url: str,
        strategy: Strategy,
        *,
        key_prefix: str = "accounts",
        connect_timeout: float = 0.25,
        read_timeout: float = 0.5,
    ) -> None:
        self._redis = Redis.from_url(
            url.removeprefix("async+"),
            # Short timeouts: a dead or stalled Redis must cost a request milliseconds, not
            # the client's default of waiting forever, whether the throttle fails open or not.
            socket_connect_timeout=connect_timeout,
            socket_timeout=read_timeout,
            # One immediate retry on a broken connection, so a pooled connection that a Redis
            # restart closed reconnects instead of failing a request; none on a timeout, where
            # the script may have run and a retry would spend twice.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._script = self._redis.register_script(
            _PRELUDE + _STRATEGY_SCRIPTS[strategy] + _SPEND_IN_ORDER
        )
        # The strategy is part of the key: each strategy stores another data type, and a
        # restart with a new strategy must not meet the old one's keys as errors.
        self._key_prefix = f"{key_prefix}:{strategy}:"
        self._previous_window_keys = strategy == "sliding-window-counter"

    async def hit_all(self, charges: Sequence[Charge]) -> list[RateLimitStatus]:
        if not charges:
            return []
        keys: list[str] = []
        limits_and_windows: list[int] = []
        for charge in charges:
            key = self._key_prefix + charge.key
            keys.append(key)
            if self._previous_window_keys:
                keys.append(f"{key}:previous")
            limits_and_windows += (charge.policy.limit, charge.policy.window_seconds)
        try:
            replies = cast(list[int], await self._script(keys=keys, args=limits_and_windows))
        except _STORAGE_ERRORS as error:
            raise StorageUnavailable("The rate-limit store is unavailable.") from error
        return [
            RateLimitStatus(
                policy=charge.policy,
                allowed=bool(replies[offset]),
                remaining=max(0, replies[offset + 1]),
                reset_after=max(0, replies[offset + 2]) / 1000,
            )
            for charge, offset in zip(
                charges, range(0, len(replies), _REPLIES_PER_CHARGE), strict=False
            )
        ]

    async def check(self) -> None:
        try:
            await self._redis.ping()
        except _STORAGE_ERRORS as error:
            raise StorageUnavailable("The rate-limit store is unavailable.") from error

    async def aclose(self) -> None:
        """Close the client and its connection pool."""
        await self._redis.aclose()
