"""Two app processes (Gunicorn's workers) share one Postgres outbox: each message goes once."""

from __future__ import annotations

import asyncio
import os
import secrets
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from tests.integration.servers import start_gunicorn, stop_gunicorn
from tests.integration.smtp_server import SmtpTestServer
from tests.integration.stored import UowFactory

MESSAGES = 40


def a_message(n: int) -> MailMessage:
    return MailMessage(
        id=MailMessageId(UUID(int=n)),
        kind=MailKind.VERIFY_EMAIL,
        to=EmailAddress(f"user{n}@example.com"),
        values={"link": f"https://accounts.example/verify-email?token=t{n}", "expires_in": "1 day"},
        created_at=datetime.now(UTC),
    )


def sent_total(metrics_url: str) -> float:
    with urllib.request.urlopen(metrics_url, timeout=5) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("accounts_mail_sent_total{")
    )


async def test_two_gunicorn_workers_deliver_each_queued_message_exactly_once(
    migrated_database_url: str, clean_tables: None, uow_factory: UowFactory, tmp_path: Path
) -> None:
    smtp = SmtpTestServer()
    smtp.inbox.data_delay_seconds = 0.02
    smtp.start()
    async with uow_factory() as uow:
        for n in range(1, MESSAGES + 1):
            await uow.outbox.add(a_message(n))
        await uow.commit()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")},
        "ACCOUNTS_DATABASE_URL": migrated_database_url,
        "ACCOUNTS_JWT_SECRET": secrets.token_urlsafe(48),
        "ACCOUNTS_LOG_LEVEL": "WARNING",
        "ACCOUNTS_MAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "ACCOUNTS_MAIL_POLL_SECONDS": "0.2",
    }
    gunicorn = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    try:
        for _ in range(600):
            if len(smtp.inbox.delivered) >= MESSAGES:
                break
            await asyncio.sleep(0.1)
        # Long enough for a second delivery, were a message claimed twice, to arrive.
        await asyncio.sleep(1)
        counted = await asyncio.to_thread(sent_total, gunicorn.metrics_url)
    finally:
        stop_gunicorn(gunicorn)
        smtp.stop()

    received = Counter(d.recipients[0] for d in smtp.inbox.delivered)
    assert len(received) == MESSAGES
    assert set(received.values()) == {1}
    assert counted == MESSAGES
