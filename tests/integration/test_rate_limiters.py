"""The rate limiters against in-process memory and the real Redis of `TEST_REDIS_URL`."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from redis.asyncio import Redis

from adapters.rate_limiting.redis_rate_limiter import RedisRateLimiter
from adapters.rate_limiting.storage import open_rate_limiter
from application.errors import StorageUnavailable
from application.ports.rate_limiting import Charge, RateLimiter, RateLimitPolicy, Strategy
from tests.integration.servers import PrivateRedis, free_port

STRATEGIES: tuple[Strategy, ...] = ("fixed-window", "moving-window", "sliding-window-counter")
POLICY = RateLimitPolicy("anonymous", 3, 60)

LimiterFactory = Callable[..., Awaitable[RateLimiter]]


@pytest.fixture
async def open_limiter(redis_url: str) -> AsyncIterator[LimiterFactory]:
    """Opens limiters on `memory` or the test Redis (`redis-alone`: each call its own EVALSHA,
    no pipeline), under a key prefix unique to the test."""
    prefix = f"test-{secrets.token_hex(8)}"
    async with AsyncExitStack() as stack:

        async def start(
            storage: str, strategy: Strategy = "moving-window", **options: str
        ) -> RateLimiter:
            key_prefix = options.get("prefix", prefix)
            if storage == "redis-alone":
                limiter = RedisRateLimiter(
                    redis_url, strategy, key_prefix=key_prefix, pipelined=False
                )
                stack.push_async_callback(limiter.aclose)
                return limiter
            url = None if storage == "memory" else redis_url
            return await stack.enter_async_context(
                open_rate_limiter(url, strategy, key_prefix=key_prefix)
            )

        yield start


async def hit(limiter: RateLimiter, policy: RateLimitPolicy, key: str) -> tuple[bool, int]:
    """Spend one charge; whether it was allowed and what is left."""
    [status] = await limiter.hit_all([Charge(policy, key)])
    return status.allowed, status.remaining


storages_and_strategies = pytest.mark.parametrize(
    ("storage", "strategy"),
    [
        (storage, strategy)
        for storage in ("memory", "redis", "redis-alone")
        for strategy in STRATEGIES
    ],
)


@storages_and_strategies
async def test_a_limit_of_n_allows_exactly_n(
    open_limiter: LimiterFactory, storage: str, strategy: Strategy
) -> None:
    limiter = await open_limiter(storage, strategy)

    batches = [await limiter.hit_all([Charge(POLICY, "anonymous:client-a")]) for _ in range(5)]
    other = await hit(limiter, POLICY, "anonymous:client-b")

    statuses = [status for batch in batches for status in batch]
    assert [(s.allowed, s.remaining) for s in statuses] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
        (False, 0),
    ]
    assert all(0 < s.reset_after <= POLICY.window_seconds for s in statuses)
    assert other == (True, 2)


@storages_and_strategies
async def test_a_refusal_spends_the_charges_before_it_and_not_those_after(
    open_limiter: LimiterFactory, storage: str, strategy: Strategy
) -> None:
    limiter = await open_limiter(storage, strategy)
    first, third = RateLimitPolicy("first", 5, 60), RateLimitPolicy("third", 5, 60)
    narrow = RateLimitPolicy("second", 1, 60)
    charges = [Charge(first, "first:k"), Charge(narrow, "second:k"), Charge(third, "third:k")]

    opening = await limiter.hit_all(charges)
    refused = await limiter.hit_all(charges)

    assert [(s.policy, s.allowed, s.remaining) for s in opening] == [
        (first, True, 4),
        (narrow, True, 0),
        (third, True, 4),
    ]
    assert [(s.policy, s.allowed, s.remaining) for s in refused] == [
        (first, True, 3),
        (narrow, False, 0),
    ]
    assert await hit(limiter, first, "first:k") == (True, 2)
    assert await hit(limiter, third, "third:k") == (True, 3), "the refusal spent nothing after it"


@storages_and_strategies
async def test_an_exhausted_policy_admits_again_once_its_reset_has_passed(
    open_limiter: LimiterFactory, storage: str, strategy: Strategy
) -> None:
    limiter = await open_limiter(storage, strategy)
    policy = RateLimitPolicy("user", 2, 1)
    for _ in range(2):
        await hit(limiter, policy, "user:short")
    [refused] = await limiter.hit_all([Charge(policy, "user:short")])

    await asyncio.sleep(refused.reset_after + 0.05)

    assert not refused.allowed
    assert (await hit(limiter, policy, "user:short"))[0]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_a_limit_of_a_million_per_minute_counts_down_from_it(
    open_limiter: LimiterFactory, strategy: Strategy
) -> None:
    limiter = await open_limiter("redis", strategy)
    policy = RateLimitPolicy("user", 1_000_000, 60)

    outcomes = [await hit(limiter, policy, "user:busy") for _ in range(3)]

    assert outcomes == [(True, 999_999), (True, 999_998), (True, 999_997)]


async def test_limiters_sharing_redis_and_a_prefix_share_their_counts(
    open_limiter: LimiterFactory,
) -> None:
    first, second = await open_limiter("redis"), await open_limiter("redis")
    elsewhere = await open_limiter("redis", prefix=f"test-{secrets.token_hex(8)}")

    outcomes = [await hit(limiter, POLICY, "user:x") for limiter in (first, second) * 3]
    isolated = await hit(elsewhere, POLICY, "user:x")

    assert [allowed for allowed, _ in outcomes] == [True, True, True, False, False, False]
    assert isolated == (True, 2)


async def test_a_new_strategy_does_not_trip_over_the_old_ones_keys(
    open_limiter: LimiterFactory,
) -> None:
    for strategy in STRATEGIES:
        limiter = await open_limiter("redis", strategy)

        assert await hit(limiter, POLICY, "user:y") == (True, 2)


async def test_an_unreachable_redis_is_storage_unavailable_quickly() -> None:
    started = time.monotonic()
    async with open_rate_limiter(f"redis://127.0.0.1:{free_port()}/0", "moving-window") as limiter:
        with pytest.raises(StorageUnavailable):
            await limiter.hit_all([Charge(POLICY, "anonymous:z")])
        with pytest.raises(StorageUnavailable):
            await limiter.check()

    assert time.monotonic() - started < 2


async def test_a_burst_of_calls_shares_one_connection_and_each_gets_its_own_answer(
    private_redis: PrivateRedis,
) -> None:
    policy = RateLimitPolicy("user", 50, 60)
    async with Redis.from_url(private_redis.url) as admin:
        before = {client["id"] for client in await admin.client_list()}
        async with open_rate_limiter(private_redis.url, "moving-window") as limiter:
            statuses = await asyncio.gather(
                *(limiter.hit_all([Charge(policy, "user:burst")]) for _ in range(120))
            )
            opened = [c for c in await admin.client_list() if c["id"] not in before]

    allowed = [status.remaining for [status] in statuses if status.allowed]
    # Exactly the limit got through, each with its own count, and the rest were refused.
    assert sorted(allowed) == list(range(50))
    assert sum(not status.allowed for [status] in statuses) == 70
    # One pipeline on one connection, not 120 connections (plus the admin's own client).
    assert len(opened) == 1


async def test_a_flushed_script_is_loaded_again_and_spends_each_call_once(
    private_redis: PrivateRedis,
) -> None:
    async with (
        Redis.from_url(private_redis.url) as admin,
        open_rate_limiter(private_redis.url, "fixed-window") as limiter,
    ):
        assert await hit(limiter, POLICY, "user:flush") == (True, 2)
        await admin.script_flush()

        statuses = await asyncio.gather(
            *(limiter.hit_all([Charge(POLICY, "user:flush")]) for _ in range(4))
        )

    assert sorted(status.remaining for [status] in statuses if status.allowed) == [0, 1]
    assert sum(not status.allowed for [status] in statuses) == 2


async def test_a_broken_key_fails_only_its_own_call(private_redis: PrivateRedis) -> None:
    async with (
        Redis.from_url(private_redis.url) as admin,
        open_rate_limiter(private_redis.url, "moving-window", key_prefix="p") as limiter,
    ):
        # A string where the moving window keeps a sorted set: Redis answers WRONGTYPE.
        await admin.set("p:moving-window:user:broken", "not a sorted set")

        broken, fine = await asyncio.gather(
            limiter.hit_all([Charge(POLICY, "user:broken")]),
            limiter.hit_all([Charge(POLICY, "user:fine")]),
            return_exceptions=True,
        )

    assert isinstance(broken, StorageUnavailable)
    assert not isinstance(fine, BaseException)
    assert [(status.allowed, status.remaining) for status in fine] == [(True, 2)]


async def test_a_caller_that_gives_up_does_not_hold_up_the_others(redis_url: str) -> None:
    async with open_rate_limiter(
        redis_url, "moving-window", key_prefix=f"test-{secrets.token_hex(8)}"
    ) as limiter:
        impatient = asyncio.ensure_future(limiter.hit_all([Charge(POLICY, "user:gone")]))
        patient = asyncio.ensure_future(limiter.hit_all([Charge(POLICY, "user:stays")]))
        await asyncio.sleep(0)
        impatient.cancel()

        [status] = await patient

    assert impatient.cancelled()
    assert (status.allowed, status.remaining) == (True, 2)


async def test_closing_answers_the_calls_already_made(redis_url: str) -> None:
    prefix = f"test-{secrets.token_hex(8)}"
    async with open_rate_limiter(redis_url, "moving-window", key_prefix=prefix) as limiter:
        pending = asyncio.ensure_future(limiter.hit_all([Charge(POLICY, "user:late")]))
        await asyncio.sleep(0)  # the call is made and waits for the next turn's pipeline

    [status] = await pending
    assert (status.allowed, status.remaining) == (True, 2)


async def test_a_burst_against_an_unreachable_redis_is_storage_unavailable_for_each() -> None:
    async with open_rate_limiter(f"redis://127.0.0.1:{free_port()}/0", "moving-window") as limiter:
        outcomes = await asyncio.gather(
            *(limiter.hit_all([Charge(POLICY, f"anonymous:{n}")]) for n in range(10)),
            return_exceptions=True,
        )

    assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
    # Each caller has its own error, so tracebacks raised in different requests never mix.
    assert len({id(outcome) for outcome in outcomes}) == 10


async def test_no_charges_cost_nothing(open_limiter: LimiterFactory) -> None:
    assert await (await open_limiter("redis")).hit_all([]) == []
    assert await (await open_limiter("memory")).hit_all([]) == []


async def test_a_reachable_store_passes_its_check(open_limiter: LimiterFactory) -> None:
    await (await open_limiter("memory")).check()
    await (await open_limiter("redis")).check()
