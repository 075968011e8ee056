"""The `RateLimiter` port on Redis through redis-py's asyncio client: one round trip per request,
shared by the requests that arrive together.

A request's charges (one to five policies) are spent by one Lua script, run with EVALSHA. The
script follows the `limits` library's three strategies (its Redis Lua scripts and its
`get_window_stats`): the same decisions, `remaining` and time to reset, but for every charge at
once, stopping at the first refusal, and on Redis's own clock (`TIME`), so that workers on
different hosts agree on the windows. Redis 7 replicates a script's effects, not the script, so
reading the clock before writing is safe.

The calls that reach the limiter in one turn of the event loop go to Redis together, as one
pipeline: one write and one read for all of them instead of one each. Under load that is most of
a request's Redis cost (redis-py's per-command path, the loop's wake-ups, Redis's own reads and
writes), and a lone call still leaves at once, on the loop's next turn. Each script runs on its
own, so one request's charges never wait on another's decision; a NOSCRIPT reply (after a Redis
restart or SCRIPT FLUSH) loads the script again and runs just those calls once more.

All the keys of one call go to one script, so this needs a single Redis (or a primary with
replicas), not Redis Cluster, whose keys of one script must share a hash slot.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError

from adapters.rate_limiting.strategy import Strategy
from application.errors import StorageUnavailable
from application.ports.rate_limiting import Charge, RateLimiter, RateLimitStatus

# OSError covers refused and reset connections that escape the client's own error types.
_STORAGE_ERRORS = (RedisError, OSError, TimeoutError)
_UNAVAILABLE = "The rate-limit store is unavailable."

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


@dataclass(slots=True)
class _Call:
    """One `hit_all` waiting for its turn in a pipeline: the script's keys and arguments."""

    keys: list[str]
    args: list[int]
    reply: asyncio.Future[list[int]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    # A caller cancelled while it waited has nobody left to answer: hence the `done()` checks.
    def answer(self, replies: list[int]) -> None:
        if not self.reply.done():
            self.reply.set_result(replies)

    def fail(self, error: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(error)

    def unavailable(self, cause: Exception) -> None:
        # One exception per caller: an instance raised in several tasks would collect all
        # their tracebacks.
        error = StorageUnavailable(_UNAVAILABLE)
        error.__cause__ = cause
        self.fail(error)

    def cancel(self) -> None:
        self.reply.cancel()


class RedisRateLimiter(RateLimiter):
    """Counts in Redis: one Lua script spends all of a request's charges on Redis's clock, and
    the scripts of the calls made in one turn of the event loop share one pipeline."""

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
        self._source = _PRELUDE + _STRATEGY_SCRIPTS[strategy] + _SPEND_IN_ORDER
        # Redis names a script by its SHA-1 (EVALSHA); an identifier, not a security measure.
        self._sha = hashlib.sha1(self._source.encode(), usedforsecurity=False).hexdigest()
        # The calls of the current turn of the event loop, and the pipelines still in flight
        # (kept so that they are not garbage-collected mid-flight, and awaited on close).
        self._waiting: list[_Call] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        # The strategy is part of the key: each strategy stores another data type, and a
        # restart with a new strategy must not meet the old one's keys as errors.
        self._key_prefix = f"{key_prefix}:{strategy}:"
        self._previous_window_keys = strategy == "sliding-window-counter"

    async def hit_all(self, charges: Sequence[Charge]) -> list[RateLimitStatus]:
        if not charges:
            return []
        call = _Call(keys=[], args=[])
        for charge in charges:
            key = self._key_prefix + charge.key
            call.keys.append(key)
            if self._previous_window_keys:
                call.keys.append(f"{key}:previous")
            call.args += (charge.policy.limit, charge.policy.window_seconds)
        if not self._waiting:
            # The first call of this turn: the pipeline leaves on the loop's next turn, after
            # every task that is ready now has had its chance to join it.
            asyncio.get_running_loop().call_soon(self._send_waiting)
        self._waiting.append(call)
        replies = await call.reply
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

    def _send_waiting(self) -> None:
        calls, self._waiting = self._waiting, []
        if not calls:  # `aclose` sent them already
            return
        task = asyncio.get_running_loop().create_task(self._send(calls))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _send(self, calls: list[_Call]) -> None:
        """Run each call's script in one pipeline and hand each caller its replies."""
        try:
            replies = await self._run(calls)
            unloaded = [
                index for index, reply in enumerate(replies) if isinstance(reply, NoScriptError)
            ]
            if unloaded:
                # NOSCRIPT: the script did not run, so running it again spends nothing twice.
                await self._redis.script_load(self._source)
                again = await self._run([calls[index] for index in unloaded])
                for index, reply in zip(unloaded, again, strict=True):
                    replies[index] = reply
        except _STORAGE_ERRORS as error:
            for call in calls:
                call.unavailable(error)
            return
        except asyncio.CancelledError:
            for call in calls:
                call.cancel()
            raise
        except Exception as error:
            # Not the store's failure but ours: each caller sees it rather than waiting forever.
            for call in calls:
                call.fail(error)
            raise
        for call, reply in zip(calls, replies, strict=True):
            if isinstance(reply, Exception):  # e.g. WRONGTYPE: a key not of this strategy
                call.unavailable(reply)
            else:
                call.answer(reply)

    async def _run(self, calls: list[_Call]) -> list[list[int] | Exception]:
        """One round trip: EVALSHA per call; a call's error is its reply, not the batch's."""
        if len(calls) == 1:
            # Alone in its turn (a quiet service): the plain command costs less than a pipeline.
            [call] = calls
            try:
                reply = await self._redis.evalsha(self._sha, len(call.keys), *call.keys, *call.args)
            except ResponseError as error:  # NOSCRIPT, WRONGTYPE: this call's reply, as below
                return [error]
            return [reply]
        pipeline = self._redis.pipeline(transaction=False)
        for call in calls:
            pipeline.evalsha(self._sha, len(call.keys), *call.keys, *call.args)
        replies: list[list[int] | Exception] = await pipeline.execute(raise_on_error=False)
        return replies

    async def check(self) -> None:
        try:
            await self._redis.ping()
        except _STORAGE_ERRORS as error:
            raise StorageUnavailable(_UNAVAILABLE) from error

    async def aclose(self) -> None:
        """Answer the calls in flight, then close the client and its connection pool."""
        # The pipelines end within the client's timeouts; a call that arrived this very turn
        # still gets its pipeline before the client closes.
        while self._waiting or self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            if self._waiting:
                self._send_waiting()
        await self._redis.aclose()
