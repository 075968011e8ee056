"""Prometheus metrics of one app, and the alarm raised when the rate-limit store fails.

Each app owns its registry rather than the process-global one, so tests can build many apps in
one process. Multi-process (Gunicorn) aggregation is not set up: each worker reports its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from application.errors import StorageUnavailable
from application.ports.rate_limiting import RateLimitObserver

logger = structlog.get_logger("accounts.rate_limit")
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The app's registry and the metrics it records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.rate_limit_storage_failures = Counter(
            "accounts_rate_limit_storage_failures",
            "Requests whose rate limits could not be checked because the store failed, "
            "by what happened to them (allowed: failing open; refused: failing closed).",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class PrometheusRateLimitObserver(RateLimitObserver):
    """Counts each storage failure; logs a warning at most once per interval, not per request."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        warn_interval_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures = metrics.rate_limit_storage_failures
        self._interval = warn_interval_seconds
        self._monotonic = monotonic
        self._last_warning: float | None = None
        self._suppressed = 0

    def storage_unavailable(self, error: StorageUnavailable, *, failed_open: bool) -> None:
        self._failures.labels(outcome="allowed" if failed_open else "refused").inc()
        now = self._monotonic()
        if self._last_warning is not None and now - self._last_warning < self._interval:
            self._suppressed += 1
            return
        cause = error.__cause__
        logger.warning(
            "rate_limit_storage_unavailable",
            failed_open=failed_open,
            cause=type(cause).__name__ if cause else None,
            suppressed_since_last_warning=self._suppressed,
        )
        self._last_warning = now
        self._suppressed = 0
