"""A failed login does not reveal whether the email has an account: not by its answer, not by
its timing.

The timing test measures the real Argon2id hasher end to end through the app (database
lookup included) and is built not to flake on a busy 2-core machine:

- Samples are taken in pairs, one known-email and one unknown-email login, in random order
  within each pair. Whatever else the machine does drifts slowly compared with one pair, so
  it loads both sides alike; the shuffle removes any first-or-second bias.
- Medians, not means: a descheduled thread or a GC pause makes a few samples very slow, and
  a median ignores them.
- Two statistics, both distribution-free and stdlib-only. The relative difference of the
  medians must stay under 50 % (a skipped hash makes it about 1000 %; a busy machine has
  been seen to make it 17 %). And an equivalence test on Mann-Whitney's common-language
  effect size A(x, y) = P(x > y) + P(x == y) / 2: neither side may be slower than the other
  stretched by a 10 % margin, i.e. A(known, 1.1 * unknown) <= 0.8 and
  A(unknown, 1.1 * known) <= 0.8. A plain A(known, unknown) would not do: with quiet noise
  it flags any consistent difference, however small (a microsecond of extra lookup is not a
  leak worth failing on). With equal times the stretched A is well under 0.5; its standard
  deviation with 40 samples a side is about 0.065, so 0.8 is more than four of them away.
  The leak guarded against is large: an unknown email that skipped Argon2 would answer in a
  few milliseconds against tens (ratio near 1, A near 1 even after stretching).
- A control proves the test could see such a leak: a login refused before hashing (a
  password over the policy's maximum) against a known-email login must fail both bounds.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from tests.integration.http.conftest import Api, AppFactory

PAIRS = 40
WARM_UP = 4
MAX_RELATIVE_MEDIAN_DIFFERENCE = 0.5
MARGIN = 1.10
MAX_EFFECT_SIZE = 0.8
WRONG = "not-the-password-but-long-enough"
UNLIMITED = "100000/minute"


def effect_size(first: list[float], second: list[float]) -> float:
    """Mann-Whitney's U of `first` over `second`, divided by n1*n2: P(first > second)."""
    wins = 0.0
    for a in first:
        for b in second:
            wins += 1.0 if a > b else 0.5 if a == b else 0.0
    return wins / (len(first) * len(second))


def relative_median_difference(first: list[float], second: list[float]) -> float:
    a, b = statistics.median(first), statistics.median(second)
    return abs(a - b) / min(a, b)


async def _timed(call: Callable[[], Awaitable[httpx.Response]]) -> float:
    started = time.perf_counter()
    response = await call()
    elapsed = time.perf_counter() - started
    assert response.status_code == 400, response.text
    return elapsed


async def _paired_samples(
    left: Callable[[], Awaitable[httpx.Response]],
    right: Callable[[], Awaitable[httpx.Response]],
) -> tuple[list[float], list[float]]:
    for _ in range(WARM_UP):
        await left()
        await right()
    shuffle = random.Random(8)
    lefts, rights = [], []
    for _ in range(PAIRS):
        if shuffle.random() < 0.5:
            lefts.append(await _timed(left))
            rights.append(await _timed(right))
        else:
            rights.append(await _timed(right))
            lefts.append(await _timed(left))
    return lefts, rights


async def _api(api_factory: AppFactory) -> Api:
    api = await api_factory(
        rate_limit_anonymous=UNLIMITED,
        rate_limit_login_ip=UNLIMITED,
        rate_limit_login_username=UNLIMITED,
        rate_limit_login_account=UNLIMITED,
    )
    assert (await api.register("ada@example.com")).status_code == 201
    return api


async def test_known_and_unknown_emails_get_the_same_answer(api_factory: AppFactory) -> None:
    api = await _api(api_factory)
    await api.register("off@example.com")
    admin_id, admin = await api.admin()
    off = await api.client.get("/api/v1/users", params={"email": "off@example.com"}, headers=admin)
    await api.client.patch(
        f"/api/v1/users/{off.json()['items'][0]['id']}", json={"is_active": False}, headers=admin
    )

    answers = [
        await api.token("ada@example.com", WRONG),
        await api.token("nobody@example.com", WRONG),
        await api.token("off@example.com"),  # right password, deactivated account
        await api.token("not-an-email", WRONG),
    ]

    def comparable(response: httpx.Response) -> tuple[int, dict[str, object], set[str]]:
        body = {k: v for k, v in response.json().items() if k not in {"request_id", "instance"}}
        return response.status_code, body, set(response.headers) - {"content-length"}

    first = comparable(answers[0])
    assert first[0] == 400
    assert first[1]["error"] == "invalid_grant"
    for other in answers[1:]:
        assert comparable(other) == first
    assert admin_id


async def test_known_and_unknown_emails_take_the_same_time(api_factory: AppFactory) -> None:
    api = await _api(api_factory)

    known, unknown = await _paired_samples(
        lambda: api.token("ada@example.com", WRONG),
        lambda: api.token("nobody@example.com", WRONG),
    )

    difference = relative_median_difference(known, unknown)
    known_slower = effect_size(known, [t * MARGIN for t in unknown])
    unknown_slower = effect_size(unknown, [t * MARGIN for t in known])
    summary = (
        f"{PAIRS} pairs: median known {statistics.median(known) * 1000:.1f} ms, "
        f"unknown {statistics.median(unknown) * 1000:.1f} ms, "
        f"relative difference {difference:.3f}, A(known, unknown)="
        f"{effect_size(known, unknown):.3f}, A(known, 1.1 unknown)={known_slower:.3f}, "
        f"A(unknown, 1.1 known)={unknown_slower:.3f}"
    )
    print(summary)
    assert difference < MAX_RELATIVE_MEDIAN_DIFFERENCE, summary
    assert known_slower <= MAX_EFFECT_SIZE, summary
    assert unknown_slower <= MAX_EFFECT_SIZE, summary


async def test_the_timing_statistics_would_see_a_skipped_hash(api_factory: AppFactory) -> None:
    api = await _api(api_factory)

    hashed, skipped = await _paired_samples(
        lambda: api.token("ada@example.com", WRONG),
        lambda: api.token("ada@example.com", "y" * 200),  # over the maximum: never hashed
    )

    assert relative_median_difference(hashed, skipped) > MAX_RELATIVE_MEDIAN_DIFFERENCE
    assert effect_size(hashed, [t * MARGIN for t in skipped]) > MAX_EFFECT_SIZE
