"""The `RateLimiter` port on Redis: one Lua script per strategy spends all of a request's charges
in one `EVALSHA`, in order, stopping at the first refusal.

The scripts give the `limits` library's decisions, `remaining` and time to reset (its Redis
scripts and `get_window_stats`, as the memory limiter uses them), on Redis's own clock so that
workers on different hosts agree on the windows (Redis 7 replicates a script's writes, not the
script, so reading the clock before writing is safe). One call touches all of a request's keys, so
this needs a single Redis (or a primary with replicas), not Redis Cluster. The calls made in one
turn of the event loop share one pipeline (`pipeline_per_turn`).

Every script takes KEYS (the charges' keys; two per charge for the sliding window counter) and
ARGV (each charge's limit and window in seconds), and returns, for each charge up to the first
refusal, three integers: allowed (1 or 0), remaining, and milliseconds until the window resets.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from adapters.rate_limiting.pipeline_per_turn import EachCallAlone, PipelinePerTurn
from application.errors import StorageUnavailable
from application.ports.rate_limiting import Charge, RateLimiter, RateLimitStatus, Strategy

# A counter per window; refusals are not counted, so the count never passes the limit.
FIXED_WINDOW = """
local replies = {}
for i = 1, #KEYS do
    local key, limit, window = KEYS[i], tonumber(ARGV[2 * i - 1]), ARGV[2 * i] * 1000
    local count = tonumber(redis.call('GET', key)) or 0
    local allowed = count < limit
    if allowed then
        count = redis.call('INCR', key)
        if count == 1 then
            redis.call('PEXPIRE', key, window)
        end
    end
    table.insert(replies, allowed and 1 or 0)
    table.insert(replies, allowed and limit - count or 0)
    table.insert(replies, redis.call('PTTL', key))
    if not allowed then
        break
    end
end
return replies
"""

# A sorted set of request times (milliseconds), each member the time and the count it made, so
# every step is O(log n) however high the limit. The reset is when the entry whose departure
# frees a slot leaves the window: the oldest, or a later one if the limit was lowered.
MOVING_WINDOW = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local replies = {}
for i = 1, #KEYS do
    local key, limit, window = KEYS[i], tonumber(ARGV[2 * i - 1]), ARGV[2 * i] * 1000
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
    local count = redis.call('ZCARD', key)
    local allowed = count < limit
    if allowed then
        count = count + 1
        redis.call('ZADD', key, now, now .. ':' .. count)
        redis.call('PEXPIRE', key, window)
    end
    local rank = math.max(0, count - limit)
    local freed_at = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')[2] + window
    table.insert(replies, allowed and 1 or 0)
    table.insert(replies, allowed and limit - count or 0)
    table.insert(replies, freed_at - now)
    if not allowed then
        break
    end
end
return replies
"""

# limits' two counters per key: the current window's, which lives two windows and becomes the
# previous one once a window has passed, and the previous count weighted by the share of it
# still inside the moving window. The reset is the sooner of the next step at which one of the
# previous requests leaves the estimate and the current window's end (a whole step, never 0).
SLIDING_WINDOW_COUNTER = """
local function next_step(ttl, step)
    local left = ttl % step
    return left == 0 and step or left
end

local replies = {}
for i = 1, #ARGV / 2 do
    local current, previous = KEYS[2 * i - 1], KEYS[2 * i]
    local limit, window = tonumber(ARGV[2 * i - 1]), ARGV[2 * i] * 1000
    local current_ttl = redis.call('PTTL', current)
    if current_ttl > 0 and current_ttl < window then
        redis.call('RENAME', current, previous)
        redis.call('SET', current, 0, 'PX', current_ttl + window)
    end
    local previous_count = tonumber(redis.call('GET', previous)) or 0
    local previous_ttl = math.max(0, redis.call('PTTL', previous))
    local current_count = tonumber(redis.call('GET', current)) or 0
    current_ttl = math.max(0, redis.call('PTTL', current))
    local weighted = math.floor(previous_count * previous_ttl / window) + current_count
    local allowed = weighted < limit
    if allowed then
        if redis.call('EXISTS', current) == 1 then
            redis.call('INCR', current)
        else
            redis.call('SET', current, 1, 'PX', 2 * window)
            current_ttl = 2 * window
        end
        current_count = current_count + 1
    end
    local reset = window
    if previous_count > 0 and previous_ttl > 0 then
        reset = math.min(reset, next_step(previous_ttl, window / previous_count))
    end
    if current_count > 0 and current_ttl > 0 then
        reset = math.min(reset, next_step(current_ttl, window))
    end
    table.insert(replies, allowed and 1 or 0)
    table.insert(replies, allowed and limit - weighted - 1 or 0)
    table.insert(replies, math.ceil(reset))
    if not allowed then
        break
    end
end
return replies
"""

SCRIPTS: dict[Strategy, str] = {
    "fixed-window": FIXED_WINDOW,
    "moving-window": MOVING_WINDOW,
    "sliding-window-counter": SLIDING_WINDOW_COUNTER,
}

# OSError covers refused and reset connections that escape the client's own error types, and
# timeouts (TimeoutError is an OSError).
_STORAGE_ERRORS = (RedisError, OSError)
_UNAVAILABLE = "The rate-limit store is unavailable."


class RedisRateLimiter(RateLimiter):
    """Counts in Redis: one script call spends all of a request's charges on Redis's clock."""

    def __init__(
        self,
        url: str,
        strategy: Strategy,
        *,
        key_prefix: str = "accounts",
        connect_timeout: float = 0.25,
        read_timeout: float = 0.5,
        pipelined: bool = True,
    ) -> None:
        self._redis = Redis.from_url(
            url.removeprefix("async+"),
            # A dead or stalled Redis must cost a request milliseconds, not wait forever.
            socket_connect_timeout=connect_timeout,
            socket_timeout=read_timeout,
            # One immediate retry on a broken connection (a Redis restart closed the pooled
            # one); none on a timeout, where the script may have run and a retry spends twice.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        script = self._redis.register_script(SCRIPTS[strategy])
        # Unpipelined, each call goes alone: the baseline the benchmarks weigh the pipeline by.
        self._pipeline: PipelinePerTurn | EachCallAlone = (
            PipelinePerTurn(self._redis, script) if pipelined else EachCallAlone(script)
        )
        # Each strategy stores another data type: a new strategy must not meet the old keys.
        self._key_prefix = f"{key_prefix}:{strategy}:"
        self._previous_window_keys = strategy == "sliding-window-counter"

    async def hit_all(self, charges: Sequence[Charge]) -> list[RateLimitStatus]:
        if not charges:
            return []
        keys: list[str] = []
        args: list[int] = []
        for charge in charges:
            key = self._key_prefix + charge.key
            keys += (key, f"{key}:previous") if self._previous_window_keys else (key,)
            args += (charge.policy.limit, charge.policy.window_seconds)
        replies = await self._pipeline.call(keys, args)
        if isinstance(replies, Exception):
            raise StorageUnavailable(_UNAVAILABLE) from replies
        return [
            RateLimitStatus(
                policy=charge.policy,
                allowed=bool(replies[offset]),
                remaining=max(0, replies[offset + 1]),
                reset_after=max(0, replies[offset + 2]) / 1000,
            )
            for charge, offset in zip(charges, range(0, len(replies), 3), strict=False)
        ]

    async def check(self) -> None:
        try:
            await self._redis.ping()
        except _STORAGE_ERRORS as error:
            raise StorageUnavailable(_UNAVAILABLE) from error

    async def aclose(self) -> None:
        """Answer the calls already made, then close the client and its connection pool."""
        await self._pipeline.drain()
        await self._redis.aclose()
