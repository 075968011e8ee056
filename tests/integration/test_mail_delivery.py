"""Mail leaves the outbox for a real SMTP server on loopback, once, whatever happens to it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.mail.smtp import SmtpMailer, SmtpServer
from adapters.mail.templates import MailTemplates
from adapters.persistence.database import create_engine, create_session_factory
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.tables import mail_outbox
from adapters.persistence.unit_of_work import unit_of_work_factory
from application.ports.mail import MailNotSent
from application.use_cases.deliver_mail import DeliverMail, RetrySchedule
from domain.errors import InvalidEmail
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from tests.fakes import FixedClock, RecordingMailObserver
from tests.integration.smtp_server import (
    Authenticator,
    SmtpTestServer,
    self_signed_certificate,
    tls_context,
)
from tests.integration.stored import UowFactory

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
SENDER = Address(display_name="Accounts", username="no-reply", domain="accounts.example")
LINK = "https://accounts.example/reset-password?token=abc&x=1"


def a_message(n: int = 1, to: str | None = None, **values: str) -> MailMessage:
    return MailMessage(
        id=MailMessageId(UUID(int=n)),
        kind=MailKind.PASSWORD_RESET,
        to=EmailAddress(to or f"user{n}@example.com"),
        values={"link": f"{LINK}{n}", "expires_in": "30 minutes", "full_name": "Ada", **values},
        created_at=NOW,
    )


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def mailer_for(server: SmtpTestServer, timeout: float = 5) -> SmtpMailer:
    return SmtpMailer(
        SmtpServer.from_url(f"smtp://127.0.0.1:{server.port}"),
        MailTemplates(),
        SENDER,
        timeout_seconds=timeout,
    )


def deliverer(
    uow_factory: UowFactory, mailer: SmtpMailer, clock: FixedClock, batch_size: int = 10
) -> DeliverMail:
    return DeliverMail(
        uow_factory,
        mailer,
        clock,
        RecordingMailObserver(),
        RetrySchedule(),
        send_time_limit=timedelta(seconds=5),
        batch_size=batch_size,
    )


async def queue(uow_factory: UowFactory, *messages: MailMessage) -> None:
    async with uow_factory() as uow:
        for message in messages:
            await uow.outbox.add(message)
        await uow.commit()


async def outbox_row(engine: AsyncEngine, n: int) -> dict[str, object]:
    async with engine.connect() as connection:
        row = (
            (await connection.execute(select(mail_outbox).where(mail_outbox.c.id == UUID(int=n))))
            .mappings()
            .one()
        )
    return dict(row)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


async def test_a_queued_message_arrives_with_a_text_and_an_html_part_holding_the_link(
    uow_factory: UowFactory, engine: AsyncEngine, smtp: SmtpTestServer
) -> None:
    await queue(uow_factory, a_message(1, to="Ada.Lovelace@Example.com"))

    report = await deliverer(uow_factory, mailer_for(smtp), FixedClock(NOW)).execute()

    assert report.sent == 1
    [delivered] = smtp.inbox.delivered
    assert delivered.sender == "no-reply@accounts.example"
    assert delivered.recipients == ["Ada.Lovelace@example.com"]
    message = delivered.message
    assert message["To"] == "Ada.Lovelace@example.com"
    assert message["From"] == "Accounts <no-reply@accounts.example>"
    assert message["Subject"] == "Reset your password"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert f"{LINK}1" in text
    assert "Hello Ada," in text
    assert 'href="https://accounts.example/reset-password?token=abc&amp;x=11"' in html
    row = await outbox_row(engine, 1)
    assert row["sent_at"] is not None
    assert row["template_values"] is None
    assert (row["attempts"], row["next_attempt_at"], row["last_error"]) == (1, None, None)


async def test_a_refused_recipient_is_recorded_and_retried_without_touching_the_others(
    uow_factory: UowFactory, engine: AsyncEngine, smtp: SmtpTestServer
) -> None:
    smtp.inbox.refused.add("user1@example.com")
    await queue(uow_factory, a_message(1), a_message(2))
    clock = FixedClock(NOW)

    report = await deliverer(uow_factory, mailer_for(smtp), clock).execute()

    assert (report.sent, report.failed) == (1, 1)
    assert [d.recipients for d in smtp.inbox.delivered] == [["user2@example.com"]]
    refused = await outbox_row(engine, 1)
    assert refused["attempts"] == 1
    assert refused["last_error"] == "recipient refused (550)"
    assert refused["template_values"] is not None
    assert refused["next_attempt_at"] == NOW + timedelta(seconds=30)


async def test_mail_queued_while_the_server_is_down_arrives_once_after_it_is_back(
    uow_factory: UowFactory, engine: AsyncEngine, smtp: SmtpTestServer
) -> None:
    clock = FixedClock(NOW)
    deliver = deliverer(uow_factory, mailer_for(smtp), clock)
    await queue(uow_factory, a_message(1))
    assert (await deliver.execute()).sent == 1

    smtp.stop()
    await queue(uow_factory, a_message(2), a_message(3))
    down = await deliver.execute()
    assert (down.sent, down.failed) == (0, 1)
    assert (await outbox_row(engine, 2))["last_error"].startswith("mail server unreachable")  # type: ignore[union-attr]

    smtp.start()
    clock.advance(timedelta(seconds=30))
    back = await deliver.execute()
    for _ in range(3):
        clock.advance(timedelta(hours=2))
        await deliver.execute()

    assert back.sent == 2
    received = Counter(d.recipients[0] for d in smtp.inbox.delivered)
    assert received == {f"user{n}@example.com": 1 for n in (1, 2, 3)}


async def test_two_senders_on_their_own_connections_deliver_each_message_once(
    backend_url: str, uow_factory: UowFactory, smtp: SmtpTestServer
) -> None:
    smtp.inbox.data_delay_seconds = 0.01
    await queue(uow_factory, *(a_message(n) for n in range(1, 41)))
    clock = FixedClock(NOW)

    async def sender(worker: int) -> int:
        engine = create_engine(backend_url, pool_size=2, max_overflow=0, pool_timeout=10)
        try:
            factory = unit_of_work_factory(
                create_session_factory(engine), ConnectionGate(size=2, timeout=10)
            )
            deliver = deliverer(factory, mailer_for(smtp), clock, batch_size=3)
            sent = 0
            while (report := await deliver.execute()).claimed:
                sent += report.sent
            return sent
        finally:
            await engine.dispose()

    first, second = await asyncio.gather(sender(1), sender(2))

    received = Counter(d.recipients[0] for d in smtp.inbox.delivered)
    assert len(received) == 40
    assert set(received.values()) == {1}
    assert first + second == 40
    assert first > 0
    assert second > 0


async def test_header_injection_never_reaches_the_headers(
    uow_factory: UowFactory, smtp: SmtpTestServer
) -> None:
    with pytest.raises(ValueError, match="one-line"):
        a_message(1, full_name="Ada\r\nBcc: victim@example.net")
    with pytest.raises(InvalidEmail):
        EmailAddress("ada@example.com\r\nBcc: victim@example.net")
    await queue(uow_factory, a_message(2, full_name="Ada Bcc: victim@example.net <b>"))

    await deliverer(uow_factory, mailer_for(smtp), FixedClock(NOW)).execute()

    [delivered] = smtp.inbox.delivered
    assert delivered.recipients == ["user2@example.com"]
    assert delivered.message["Bcc"] is None
    assert delivered.message.get_all("To") == ["user2@example.com"]
    _, html = parts(delivered.message)
    assert "Ada Bcc: victim@example.net &lt;b&gt;" in html


async def test_a_missing_template_value_is_given_up_at_once_not_sent_half_filled(
    uow_factory: UowFactory, engine: AsyncEngine, smtp: SmtpTestServer
) -> None:
    broken = MailMessage(
        id=MailMessageId(UUID(int=1)),
        kind=MailKind.VERIFY_EMAIL,
        to=EmailAddress("ada@example.com"),
        values={"full_name": "Ada"},
        created_at=NOW,
    )
    await queue(uow_factory, broken)

    report = await deliverer(uow_factory, mailer_for(smtp), FixedClock(NOW)).execute()

    assert report.given_up == 1
    assert smtp.inbox.delivered == []
    row = await outbox_row(engine, 1)
    assert row["last_error"] == "verify_email needs the value link"
    assert (row["next_attempt_at"], row["template_values"]) == (None, None)


async def test_a_server_that_never_answers_fails_the_attempt_within_the_time_limit() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    mailer = SmtpMailer(
        SmtpServer.from_url(f"smtp://127.0.0.1:{port}"),
        MailTemplates(),
        SENDER,
        timeout_seconds=0.5,
    )
    try:
        with pytest.raises(MailNotSent) as raised:
            await mailer.send(a_message(1))
    finally:
        server.close()
    assert raised.value.server_unavailable


@pytest.fixture
def trusted_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that this process's TLS clients trust."""
    certificate, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    return certificate, key


async def test_starttls_is_used_when_offered_and_credentials_come_from_the_url(
    trusted_certificate: tuple[Path, Path],
) -> None:
    server = SmtpTestServer(
        tls_context=tls_context(*trusted_certificate),
        require_starttls=True,
        authenticator=Authenticator("mailer", "p@ss:word"),
        auth_required=True,
        auth_require_tls=True,
    )
    server.start()
    try:
        mailer = SmtpMailer(
            SmtpServer.from_url(f"smtp://mailer:p%40ss%3Aword@127.0.0.1:{server.port}"),
            MailTemplates(),
            SENDER,
            timeout_seconds=5,
        )
        await mailer.send(a_message(1))
        wrong = SmtpMailer(
            SmtpServer.from_url(f"smtp://mailer:wrong@127.0.0.1:{server.port}"),
            MailTemplates(),
            SENDER,
            timeout_seconds=5,
        )
        with pytest.raises(MailNotSent, match="refused our credentials") as refused:
            await wrong.send(a_message(2))
    finally:
        server.stop()

    assert [d.recipients for d in server.inbox.delivered] == [["user1@example.com"]]
    assert "wrong" not in refused.value.reason


async def test_smtps_speaks_tls_from_the_first_byte(
    trusted_certificate: tuple[Path, Path],
) -> None:
    server = SmtpTestServer(ssl_context=tls_context(*trusted_certificate))
    server.start()
    try:
        mailer = SmtpMailer(
            SmtpServer.from_url(f"smtps://127.0.0.1:{server.port}"),
            MailTemplates(),
            SENDER,
            timeout_seconds=5,
        )
        await mailer.send(a_message(1))
        plain = SmtpMailer(
            SmtpServer.from_url(f"smtp://127.0.0.1:{server.port}"),
            MailTemplates(),
            SENDER,
            timeout_seconds=1,
        )
        with pytest.raises(MailNotSent):
            await plain.send(a_message(2))
    finally:
        server.stop()

    assert [d.recipients for d in server.inbox.delivered] == [["user1@example.com"]]
