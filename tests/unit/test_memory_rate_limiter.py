"""The in-memory rate limiter on a clock the test moves: windows, resets, and forgotten keys."""

from __future__ import annotations

import pytest

from adapters.rate_limiting.memory_rate_limiter import SWEEP_EVERY_SECONDS, MemoryRateLimiter
from application.ports.rate_limiting import Charge, RateLimitPolicy, Strategy

POLICY = RateLimitPolicy("user", 2, 60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def spend(limiter: MemoryRateLimiter, key: str) -> tuple[bool, int, float]:
    [status] = await limiter.hit_all([Charge(POLICY, key)])
    return status.allowed, status.remaining, status.reset_after


async def test_a_moving_window_frees_a_slot_when_its_oldest_request_leaves() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter("moving-window", clock)

    first = await spend(limiter, "user:a")
    clock.now += 20
    second = await spend(limiter, "user:a")
    refused = await spend(limiter, "user:a")
    clock.now += 41
    admitted = await spend(limiter, "user:a")

    assert first == (True, 1, 60)
    assert second == (True, 0, 40)
    assert refused == (False, 0, 40)
    assert admitted == (True, 0, 19)


async def test_a_fixed_window_starts_again_when_it_ends() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter("fixed-window", clock)

    await spend(limiter, "user:a")
    clock.now += 30
    await spend(limiter, "user:a")
    refused = await spend(limiter, "user:a")
    clock.now += 30

    assert refused == (False, 0, 30)
    assert await spend(limiter, "user:a") == (True, 1, 60)


async def test_a_sliding_window_counter_weighs_the_previous_window() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter("sliding-window-counter", clock)
    await spend(limiter, "user:a")
    await spend(limiter, "user:a")

    clock.now += 90  # half of the previous window is still inside the moving window
    allowed, remaining, _ = await spend(limiter, "user:a")
    refused = await spend(limiter, "user:a")

    assert (allowed, remaining) == (True, 0)
    assert refused[:2] == (False, 0)


@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window", "sliding-window-counter"])
async def test_keys_whose_windows_ended_are_forgotten(strategy: Strategy) -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(strategy, clock)
    for client in range(100):
        await spend(limiter, f"anonymous:{client}")
    assert len(limiter) == 100

    clock.now += 2 * POLICY.window_seconds + SWEEP_EVERY_SECONDS
    await spend(limiter, "anonymous:new")

    assert len(limiter) == 1
