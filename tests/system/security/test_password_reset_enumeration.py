"""`POST /auth/password-reset` does not reveal whether the address has an account: not by
its status, body or headers, and not by its timing.

Measured through the whole app against real Postgres: 50 requests for a registered address
and 50 for an unknown one, taken in pairs in shuffled order so that whatever else the
machine does loads both sides alike; the medians may differ by at most 5 ms. The mailing
path writes a token and an outbox row that the other path does not, so this test is what
shows the equal-work design holds.
"""

from __future__ import annotations

import random
import statistics
import time

import httpx

from tests.integration.http.conftest import Api, AppFactory

PAIRS = 50
WARM_UP = 5
MAX_MEDIAN_DIFFERENCE_SECONDS = 0.005
UNLIMITED = "100000/minute"
# Headers that differ between any two requests, whatever they ask.
PER_REQUEST = {"x-request-id", "ratelimit"}


async def _ask(api: Api, email: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await api.client.post("/api/v1/auth/password-reset", json={"email": email})
    return time.perf_counter() - started, response


def _shape(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in PER_REQUEST}
    return response.status_code, response.content, headers


async def test_a_reset_for_a_known_and_an_unknown_address_look_and_last_alike(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(rate_limit_anonymous=UNLIMITED, rate_limit_mail="100000/hour")
    await api.register("known@example.com")
    known, unknown = "known@example.com", "unknown@example.com"
    for _ in range(WARM_UP):
        await _ask(api, known)
        await _ask(api, unknown)

    shuffle = random.Random(20)
    known_times, unknown_times = [], []
    for _ in range(PAIRS):
        order = [known, unknown]
        shuffle.shuffle(order)
        for email in order:
            seconds, response = await _ask(api, email)
            assert response.status_code == 202, response.text
            (known_times if email == known else unknown_times).append(seconds)
            if email == known:
                known_shape = _shape(response)
            else:
                unknown_shape = _shape(response)

    assert known_shape == unknown_shape
    difference = abs(statistics.median(known_times) - statistics.median(unknown_times))
    assert difference <= MAX_MEDIAN_DIFFERENCE_SECONDS, (
        f"medians {statistics.median(known_times) * 1000:.2f} ms (known) and "
        f"{statistics.median(unknown_times) * 1000:.2f} ms (unknown)"
    )
