"""Each worker's lifespan runs the mail sender: mail queued by a change leaves by itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from uuid import uuid4

from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from tests.integration.http.conftest import AppFactory
from tests.integration.smtp_server import SmtpTestServer

LINK = "https://accounts.example/verify-email?token=abc"


def verification(to: str = "ada@example.com") -> MailMessage:
    return MailMessage(
        id=MailMessageId(uuid4()),
        kind=MailKind.VERIFY_EMAIL,
        to=EmailAddress(to),
        values={"link": LINK, "expires_in": "24 hours", "full_name": ""},
        created_at=datetime.now(UTC),
    )


async def eventually(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def test_the_running_app_writes_queued_mail_to_the_file_sink(
    api_factory: AppFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "mail"
    api = await api_factory(
        mail_url=f"file:{folder}", mail_sender_enabled=True, mail_poll_seconds=0.05
    )
    message = verification()
    async with api.app.state.provided["uow"]() as uow:
        await uow.outbox.add(message)
        await uow.commit()

    await eventually(lambda: any(folder.glob("*.eml")))

    [written] = folder.glob("*.eml")
    assert str(message.id) in written.name
    parsed = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert parsed["To"] == "ada@example.com"
    assert parsed["Subject"] == "Confirm your email address"
    text = parsed.get_body(("plain",))
    assert text is not None
    assert LINK in text.get_content()
    assert not list(folder.glob(".*"))
    metrics = (await api.client.get("/metrics")).text
    assert 'accounts_mail_sent_total{kind="verify_email"} 1.0' in metrics
    assert 'accounts_mail_pending_messages{kind="verify_email"} 0.0' in metrics


async def test_a_commit_that_queued_mail_wakes_the_sender_before_its_next_poll(
    api_factory: AppFactory,
) -> None:
    smtp = SmtpTestServer()
    smtp.start()
    try:
        api = await api_factory(
            mail_url=f"smtp://127.0.0.1:{smtp.port}",
            mail_sender_enabled=True,
            mail_poll_seconds=3600,
        )
        await asyncio.sleep(0.2)
        async with api.app.state.provided["uow"]() as uow:
            await uow.outbox.add(verification("grace@example.com"))
            await uow.commit()

        await eventually(lambda: bool(smtp.inbox.delivered))
    finally:
        smtp.stop()

    assert [d.recipients for d in smtp.inbox.delivered] == [["grace@example.com"]]
