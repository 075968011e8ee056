"""What the mail sender logs and counts: never a link; a database outage warned once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from structlog.testing import capture_logs

from application.errors import StorageUnavailable
from application.ports.mail import MailNotSent
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from entrypoints.metrics import Metrics, PrometheusMailObserver

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
LINK = "https://accounts.example/reset-password?token=secret-token-value"


def a_message() -> MailMessage:
    return MailMessage(
        id=MailMessageId(UUID(int=1)),
        kind=MailKind.PASSWORD_RESET,
        to=EmailAddress("ada@example.com"),
        values={"link": LINK, "expires_in": "30 minutes"},
        created_at=NOW,
    )


def test_outcomes_are_counted_by_kind_and_logged_without_the_values() -> None:
    metrics = Metrics()
    observer = PrometheusMailObserver(metrics)

    with capture_logs() as logs:
        observer.failed(a_message(), MailNotSent("recipient refused (550)"), NOW)
        observer.sent(a_message(), attempts=2)
        observer.gave_up(a_message(), MailNotSent("refused", permanent=True), attempts=3)
        observer.backlog({MailKind.VERIFY_EMAIL: 2}, timedelta(seconds=90))

    # mail_sent is at info level, which the configured level may filter out.
    problems = [log for log in logs if log["event"] != "mail_sent"]
    assert [log["event"] for log in problems] == ["mail_not_sent", "mail_given_up"]
    assert problems[0]["reason"] == "recipient refused (550)"
    assert "secret-token-value" not in repr(logs)
    sample = metrics.registry.get_sample_value
    kind = {"kind": "password_reset"}
    assert sample("accounts_mail_sent_total", kind) == 1
    assert sample("accounts_mail_failed_attempts_total", kind) == 1
    assert sample("accounts_mail_given_up_total", kind) == 1
    assert sample("accounts_mail_pending_messages", {"kind": "verify_email"}) == 2
    assert sample("accounts_mail_pending_messages", kind) == 0
    assert sample("accounts_mail_oldest_pending_age_seconds") == 90


def test_a_database_outage_is_counted_every_pass_and_warned_once_per_interval() -> None:
    metrics = Metrics()
    now = [1000.0]
    observer = PrometheusMailObserver(metrics, warn_interval_seconds=60, monotonic=lambda: now[0])
    error = StorageUnavailable("down")
    error.__cause__ = ConnectionRefusedError("refused")

    with capture_logs() as logs:
        for _ in range(5):
            observer.pass_failed(error)
        now[0] += 61
        observer.pass_failed(error)

    warnings = [(log["error"], log["suppressed_since_last_warning"]) for log in logs]
    assert warnings == [("ConnectionRefusedError", 0), ("ConnectionRefusedError", 4)]
    assert metrics.registry.get_sample_value("accounts_mail_pass_failures_total") == 6
