"""Prometheus metrics of one app, and the alarm raised when the rate-limit store fails.

Each app owns its registry rather than the process-global one, so tests can build many apps in
one process. Under Gunicorn, `gunicorn.conf.py` sets `PROMETHEUS_MULTIPROC_DIR` before any
worker starts: prometheus-client then keeps every value in per-process files there, and
Gunicorn's master serves their sum on the metrics port (`ACCOUNTS_METRICS_PORT`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Scope

from application.errors import StorageUnavailable
from application.ports.mail import MailDeliveryObserver, MailNotSent
from application.ports.rate_limiting import RateLimitObserver
from domain.mail import MailKind, MailMessage

# prometheus-client leaves this constructor unannotated; its signature is (registry, path=None).
_multiprocess_collector: Callable[..., object] = MultiProcessCollector
CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Label of requests no route matched: raw paths would let any client create series at will.
UNMATCHED_ROUTE = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_directory() -> str | None:
    """Where the workers of one Gunicorn master write their values; None in a single process."""
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


class Metrics:
    """The app's registry and the metrics it records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._multiprocess = multiprocess_directory()
        if self._multiprocess is None:
            # Per-process readings; in multiprocess mode they would describe one random worker.
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "accounts_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "accounts_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "accounts_rate_limit_rejections",
            "Requests refused with 429, by the policy that refused them.",
            ["policy"],
            registry=self.registry,
        )
        # livesum: the pool of every live worker added up; a dead worker's pool is gone.
        self.db_pool_checked_out = Gauge(
            "accounts_db_pool_checked_out_connections",
            "Database connections currently lent out by the pool.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.db_pool_size = Gauge(
            "accounts_db_pool_size_connections",
            "Connections the pool may hold: DB_POOL_SIZE + DB_MAX_OVERFLOW.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.rate_limit_storage_failures = Counter(
            "accounts_rate_limit_storage_failures",
            "Requests whose rate limits could not be checked because the store failed, "
            "by what happened to them (allowed: failing open; refused: failing closed).",
            ["outcome"],
            registry=self.registry,
        )

        self.mail_sent = Counter(
            "accounts_mail_sent",
            "Mail messages the mail server (or the file sink) accepted, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.mail_failed_attempts = Counter(
            "accounts_mail_failed_attempts",
            "Attempts to send a message that failed and will be retried, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.mail_given_up = Counter(
            "accounts_mail_given_up",
            "Messages that will never be sent (attempts used up, or unusable), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.mail_pass_failures = Counter(
            "accounts_mail_pass_failures",
            "Delivery passes that could not run (the database did not answer).",
            registry=self.registry,
        )
        # Every worker reads the same outbox: the freshest reading of any live worker.
        self.mail_pending = Gauge(
            "accounts_mail_pending_messages",
            "Messages in the outbox still to be sent (neither sent nor given up), by kind.",
            ["kind"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.mail_oldest_pending_age = Gauge(
            "accounts_mail_oldest_pending_age_seconds",
            "How long the oldest message still to be sent has waited since it was queued.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.mail_refused = Counter(
            "accounts_mail_refused",
            "Mail not queued because its recipient's `mail` rate limit was spent, by kind.",
            ["kind"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (of every worker, under Gunicorn)."""
        if self._multiprocess is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        _multiprocess_collector(registry, path=self._multiprocess)
        return generate_latest(registry)

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Follow the engine's pool: its size, and connections lent out as they come and go."""
        pool = engine.sync_engine.pool
        size = getattr(pool, "size", None)
        if callable(size):
            self.db_pool_size.set(size())
        checked_out = self.db_pool_checked_out

        def lent(*_: Any) -> None:
            checked_out.inc()

        def returned(*_: Any) -> None:
            checked_out.dec()

        event.listen(pool, "checkout", lent)
        event.listen(pool, "checkin", returned)


def record_response(metrics: Metrics, scope: Scope, status: int, seconds: float) -> None:
    """Count and time one HTTP response by the route template that served it."""
    labels = (scope["method"], route_template(scope), str(status))
    metrics.requests.labels(*labels).inc()
    metrics.latency.labels(*labels).observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path format (`/api/v1/users/{user_id}`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


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
        self._mail_refused = metrics.mail_refused
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
        # A fresh proxy per warning (at most one a minute): a module-level one is cached on
        # first use, after which structlog's capture_logs can no longer see it in tests.
        structlog.get_logger("accounts.rate_limit").warning(
            "rate_limit_storage_unavailable",
            failed_open=failed_open,
            cause=type(cause).__name__ if cause else None,
            suppressed_since_last_warning=self._suppressed,
        )
        self._last_warning = now
        self._suppressed = 0

    def mail_refused(self, kind: str) -> None:
        self._mail_refused.labels(kind=kind).inc()
        # The address stays out of the log: it is what an enumeration would be after.
        structlog.get_logger("accounts.mail").warning("mail_rate_limited", kind=kind)


class PrometheusMailObserver(MailDeliveryObserver):
    """Counts and logs what the mail sender does; never logs a template value or link.

    A pass that cannot run is logged at most once per interval (the sender retries every
    poll while the database is down), with how many were not logged meanwhile.
    """

    def __init__(
        self,
        metrics: Metrics,
        *,
        warn_interval_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._interval = warn_interval_seconds
        self._monotonic = monotonic
        self._last_warning: float | None = None
        self._suppressed = 0

    def sent(self, message: MailMessage, attempts: int) -> None:
        self._metrics.mail_sent.labels(message.kind.value).inc()
        _mail_log().info(
            "mail_sent", message_id=str(message.id), kind=message.kind.value, attempts=attempts
        )

    def failed(self, message: MailMessage, error: MailNotSent, retry_at: datetime) -> None:
        self._metrics.mail_failed_attempts.labels(message.kind.value).inc()
        _mail_log().warning(
            "mail_not_sent",
            message_id=str(message.id),
            kind=message.kind.value,
            reason=error.reason,
            retry_at=retry_at.isoformat(),
        )

    def gave_up(self, message: MailMessage, error: MailNotSent, attempts: int) -> None:
        self._metrics.mail_given_up.labels(message.kind.value).inc()
        _mail_log().error(
            "mail_given_up",
            message_id=str(message.id),
            kind=message.kind.value,
            reason=error.reason,
            attempts=attempts,
        )

    def backlog(self, pending: Mapping[MailKind, int], oldest_age: timedelta | None) -> None:
        for kind in MailKind:
            self._metrics.mail_pending.labels(kind.value).set(pending.get(kind, 0))
        seconds = 0.0 if oldest_age is None else oldest_age.total_seconds()
        self._metrics.mail_oldest_pending_age.set(seconds)

    def pass_failed(self, error: Exception) -> None:
        self._metrics.mail_pass_failures.inc()
        now = self._monotonic()
        if self._last_warning is not None and now - self._last_warning < self._interval:
            self._suppressed += 1
            return
        cause = error.__cause__ or error
        _mail_log().warning(
            "mail_pass_failed",
            error=type(cause).__name__,
            suppressed_since_last_warning=self._suppressed,
        )
        self._last_warning = now
        self._suppressed = 0


def _mail_log() -> Any:
    # Fresh per call, like the rate-limit observer's: capture_logs in tests must see it.
    return structlog.get_logger("accounts.mail")
