"""RateLimit headers, Retry-After rounding, the storage alarm, and the rate-limit settings."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from application.errors import StorageUnavailable
from application.ports.rate_limiting import RateLimitPolicy, RateLimitStatus
from application.rate_limiting import PolicyName
from entrypoints.http.rate_limits import policy_header, reset_seconds, retry_after, status_header
from entrypoints.metrics import Metrics, PrometheusRateLimitObserver
from entrypoints.settings import (
    Settings,
    SettingsError,
    load_settings,
    warn_if_limits_split_across_workers,
    workers_from_environment,
)

USER = RateLimitPolicy("user", 600, 60)
LOGIN = RateLimitPolicy("login_username", 10, 60)


def status(
    policy: RateLimitPolicy = USER,
    *,
    remaining: int = 5,
    reset_after: float = 30.0,
    allowed: bool = True,
) -> RateLimitStatus:
    return RateLimitStatus(policy, allowed=allowed, remaining=remaining, reset_after=reset_after)


def test_headers_are_structured_field_lists_in_the_given_order() -> None:
    statuses = [
        status(LOGIN, remaining=0, reset_after=41.2, allowed=False),
        status(USER, remaining=599, reset_after=60),
    ]

    assert policy_header(statuses) == '"login_username";q=10;w=60, "user";q=600;w=60'
    assert status_header(statuses) == '"login_username";r=0;t=42, "user";r=599;t=60'


@pytest.mark.parametrize(
    ("reset_after", "remaining", "allowed", "expected"),
    [
        (59.01, 3, True, 60),
        (0.2, 3, True, 1),
        (0.0, 3, True, 0),
        (-1.0, 3, True, 0),
        (0.0, 0, True, 1),
        (0.0, 0, False, 1),
        (0.4, 0, False, 1),
        (7.0, 0, False, 7),
    ],
)
def test_t_is_rounded_up_and_at_least_one_when_exhausted(
    reset_after: float, remaining: int, allowed: bool, expected: int
) -> None:
    subject = status(remaining=remaining, reset_after=reset_after, allowed=allowed)

    assert reset_seconds(subject) == expected


@pytest.mark.parametrize("reset_after", [0.0, 0.001, 0.999, 1.0, 1.5, 59.9, 3600.0])
def test_retry_after_is_never_zero_and_never_before_t(reset_after: float) -> None:
    refusal = status(remaining=0, reset_after=reset_after, allowed=False)

    assert retry_after(refusal) >= 1
    assert retry_after(refusal) >= reset_seconds(refusal)
    assert retry_after(refusal) >= reset_after


def test_the_storage_alarm_counts_every_failure_and_warns_once_per_interval() -> None:
    metrics = Metrics()
    now = [1000.0]
    observer = PrometheusRateLimitObserver(
        metrics, warn_interval_seconds=60, monotonic=lambda: now[0]
    )
    error = StorageUnavailable("down")
    error.__cause__ = ConnectionRefusedError("refused")

    with capture_logs() as logs:
        for _ in range(5):
            observer.storage_unavailable(error, failed_open=True)
        now[0] += 61
        observer.storage_unavailable(error, failed_open=False)

    warnings = [log for log in logs if log["event"] == "rate_limit_storage_unavailable"]
    assert [(w["failed_open"], w["suppressed_since_last_warning"]) for w in warnings] == [
        (True, 0),
        (False, 4),
    ]
    assert warnings[0]["cause"] == "ConnectionRefusedError"
    sample = metrics.registry.get_sample_value
    assert sample("accounts_rate_limit_storage_failures_total", {"outcome": "allowed"}) == 5
    assert sample("accounts_rate_limit_storage_failures_total", {"outcome": "refused"}) == 1
    assert b"accounts_rate_limit_storage_failures_total" in metrics.render()


def test_the_defaults_are_the_contracts() -> None:
    limits = Settings().rate_limits

    assert limits.enabled is True
    assert limits.storage_url == "memory://"
    assert limits.redis_url is None
    assert limits.strategy == "moving-window"
    assert {name: (p.limit, p.window_seconds) for name, p in limits.policies().items()} == {
        PolicyName.ANONYMOUS: (60, 60),
        PolicyName.USER: (600, 60),
        PolicyName.API_KEY: (1200, 60),
        PolicyName.CLIENT: (1200, 60),
        PolicyName.LOGIN_IP: (30, 60),
        PolicyName.LOGIN_USERNAME: (10, 60),
        PolicyName.LOGIN_ACCOUNT: (100, 3600),
        PolicyName.REGISTER: (10, 3600),
        PolicyName.MFA: (5, 300),
        PolicyName.MAIL: (5, 3600),
    }
    assert all(name == policy.name for name, policy in limits.policies().items())
    assert limits.fail_open is True
    assert Settings().http.forwarded_allow_ips == "127.0.0.1"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ACCOUNTS_RATE_LIMIT_USER", "lots", "'lots' is not a rate limit like 60/minute"),
        ("ACCOUNTS_RATE_LIMIT_LOGIN_IP", "0/minute", "must allow at least one request"),
        ("ACCOUNTS_RATE_LIMIT_REGISTER", "1/second;9/hour", "exactly one rate limit"),
        ("ACCOUNTS_RATE_LIMIT_STORAGE_URL", "memcached://x", "must be memory:// or redis://"),
        ("ACCOUNTS_RATE_LIMIT_STRATEGY", "token-bucket", "Input should be"),
        ("ACCOUNTS_FORWARDED_ALLOW_IPS", "10.0.0.0/8, proxy", "'proxy' is not an IP address"),
    ],
)
def test_a_bad_rate_limit_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"invalid configuration: {variable}: ")
    assert message in text


def test_rate_limits_accept_the_limits_notation_and_async_urls() -> None:
    settings = Settings(
        rate_limit_user="100 per 30 seconds",
        rate_limit_storage_url="async+redis://127.0.0.1:6379/3",
        forwarded_allow_ips="*",
    )

    user = settings.rate_limits.policies()[PolicyName.USER]
    assert (user.limit, user.window_seconds) == (100, 30)
    assert settings.rate_limits.redis_url == "async+redis://127.0.0.1:6379/3"
    assert settings.http.forwarded_allow_ips_for_uvicorn == "*"


def test_several_workers_counting_in_memory_are_warned_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory, redis = Settings(), Settings(rate_limit_storage_url="redis://127.0.0.1:6379/0")
    off = Settings(rate_limit_enabled=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "4")

    with capture_logs() as logs:
        warn_if_limits_split_across_workers(memory, workers_from_environment())
        warn_if_limits_split_across_workers(memory, 1)
        warn_if_limits_split_across_workers(redis, 4)
        warn_if_limits_split_across_workers(off, 4)

    assert [(log["event"], log["workers"]) for log in logs] == [
        ("rate_limits_counted_per_worker", 4)
    ]
    assert logs[0]["log_level"] == "warning"
