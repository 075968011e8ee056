"""The `RateLimiter` port in process memory: the Redis scripts' three strategies, step for step,
on this process's monotonic clock. Each worker counts on its own (`RateLimitSettings.per_process`).

Nothing runs in the background: a key's state expires when the key is next used, and keys no
longer used are dropped by a sweep that a call runs at most once per `SWEEP_EVERY_SECONDS`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from application.ports.rate_limiting import Charge, RateLimiter, RateLimitStatus, Strategy

SWEEP_EVERY_SECONDS = 10.0


@dataclass(slots=True)
class _FixedWindow:
    expires_at: float
    count: int = 0


@dataclass(slots=True)
class _MovingWindow:
    expires_at: float
    times: deque[float] = field(default_factory=deque)


@dataclass(slots=True)
class _SlidingWindow:
    expires_at: float
    count: int = 0
    previous_expires_at: float = 0.0
    previous_count: int = 0


_State = _FixedWindow | _MovingWindow | _SlidingWindow


def _fixed_window(
    state: _State | None, charge: Charge, now: float
) -> tuple[_State, RateLimitStatus]:
    """A counter per window; refusals are not counted."""
    limit, window = charge.policy.limit, charge.policy.window_seconds
    if not isinstance(state, _FixedWindow) or state.expires_at <= now:
        state = _FixedWindow(expires_at=now + window)
    allowed = state.count < limit
    if allowed:
        state.count += 1
    remaining = limit - state.count if allowed else 0
    return state, RateLimitStatus(charge.policy, allowed, remaining, state.expires_at - now)


def _moving_window(
    state: _State | None, charge: Charge, now: float
) -> tuple[_State, RateLimitStatus]:
    """The request times of the last window; the reset is when the entry whose departure frees
    a slot leaves it."""
    limit, window = charge.policy.limit, charge.policy.window_seconds
    if not isinstance(state, _MovingWindow):
        state = _MovingWindow(expires_at=now + window)
    times = state.times
    while times and times[0] < now - window:
        times.popleft()
    count = len(times)
    allowed = count < limit
    if allowed:
        times.append(now)
        count += 1
        state.expires_at = now + window
    freed_at = times[max(0, count - limit)] + window
    remaining = limit - count if allowed else 0
    return state, RateLimitStatus(charge.policy, allowed, remaining, freed_at - now)


def _next_step(left: float, step: float) -> float:
    rest = left % step
    return step if rest == 0 else rest


def _sliding_window_counter(
    state: _State | None, charge: Charge, now: float
) -> tuple[_State, RateLimitStatus]:
    """The current window's count plus the previous one's, weighted by the share of it still
    inside the moving window; a current window lives two windows, the second as the previous."""
    limit, window = charge.policy.limit, charge.policy.window_seconds
    if not isinstance(state, _SlidingWindow):
        state = _SlidingWindow(expires_at=now)
    if now < state.expires_at < now + window:
        state.previous_count, state.previous_expires_at = state.count, state.expires_at
        state.count, state.expires_at = 0, state.expires_at + window
    previous_left = max(0.0, state.previous_expires_at - now)
    previous = state.previous_count if previous_left > 0 else 0
    current_left = max(0.0, state.expires_at - now)
    current = state.count if current_left > 0 else 0
    weighted = math.floor(previous * previous_left / window) + current
    allowed = weighted < limit
    if allowed:
        if current_left == 0:
            state.count, state.expires_at, current_left = 0, now + 2 * window, 2 * window
        state.count += 1
        current += 1
    reset: float = window
    if previous > 0 and previous_left > 0:
        reset = min(reset, _next_step(previous_left, window / previous))
    if current > 0 and current_left > 0:
        reset = min(reset, _next_step(current_left, window))
    remaining = limit - weighted - 1 if allowed else 0
    return state, RateLimitStatus(charge.policy, allowed, remaining, reset)


_Spend = Callable[[_State | None, Charge, float], tuple[_State, RateLimitStatus]]
STRATEGIES: dict[Strategy, _Spend] = {
    "fixed-window": _fixed_window,
    "moving-window": _moving_window,
    "sliding-window-counter": _sliding_window_counter,
}


class MemoryRateLimiter(RateLimiter):
    """Counts in this process's memory, with the same decisions as `RedisRateLimiter`."""

    def __init__(self, strategy: Strategy, clock: Callable[[], float] = time.monotonic) -> None:
        self._spend = STRATEGIES[strategy]
        self._clock = clock
        self._states: dict[str, _State] = {}
        self._next_sweep = clock() + SWEEP_EVERY_SECONDS

    async def hit_all(self, charges: Sequence[Charge]) -> list[RateLimitStatus]:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        statuses = []
        for charge in charges:
            self._states[charge.key], status = self._spend(
                self._states.get(charge.key), charge, now
            )
            statuses.append(status)
            if not status.allowed:
                break
        return statuses

    def _sweep(self, now: float) -> None:
        self._states = {key: s for key, s in self._states.items() if s.expires_at > now}
        self._next_sweep = now + SWEEP_EVERY_SECONDS

    def __len__(self) -> int:
        """How many keys hold counts."""
        return len(self._states)

    async def check(self) -> None:
        """The counters live in this process: there is nothing that could fail to answer."""
