"""The readiness probe's answer: each dependency's state, and whether the service can serve."""

from __future__ import annotations

import pytest

from application.rate_limiting import Throttle
from application.use_cases.check_readiness import CheckReadiness, Readiness
from tests.fakes import FakeDatabaseProbe, FakeRateLimiter, RecordingRateLimitObserver
from tests.unit.test_throttle import policies


def throttle(limiter: FakeRateLimiter, *, fail_open: bool) -> Throttle:
    return Throttle(limiter, policies(), RecordingRateLimitObserver(), fail_open=fail_open)


@pytest.mark.parametrize(
    ("state", "ready"), [("ok", True), ("not_migrated", False), ("unavailable", False)]
)
async def test_the_database_decides_without_rate_limits(state: str, ready: bool) -> None:
    readiness = await CheckReadiness(FakeDatabaseProbe(state), throttle=None).execute()

    assert readiness == Readiness({"database": state}, ready=ready)


async def test_a_dead_rate_limit_store_fails_readiness_only_when_limits_fail_closed() -> None:
    limiter = FakeRateLimiter()
    limiter.broken = True

    failing_open = await CheckReadiness(
        FakeDatabaseProbe(), throttle(limiter, fail_open=True)
    ).execute()
    failing_closed = await CheckReadiness(
        FakeDatabaseProbe(), throttle(limiter, fail_open=False)
    ).execute()

    checks = {"database": "ok", "rate_limit": "unavailable"}
    assert failing_open == Readiness(checks, ready=True)
    assert failing_closed == Readiness(checks, ready=False)


async def test_a_database_without_schema_fails_readiness_whatever_the_store_says() -> None:
    readiness = await CheckReadiness(
        FakeDatabaseProbe("not_migrated"), throttle(FakeRateLimiter(), fail_open=True)
    ).execute()

    assert readiness == Readiness({"database": "not_migrated", "rate_limit": "ok"}, ready=False)
