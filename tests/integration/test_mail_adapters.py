"""Templates, the MIME message and the file sink: what a recipient opens."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from pathlib import Path
from uuid import UUID

import pytest

from adapters.mail.compose import compose, parse_sender
from adapters.mail.file_sink import FileMailer
from adapters.mail.templates import REQUIRED_VALUES, MailTemplates
from application.ports.mail import MailNotSent
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
SENDER = Address(display_name="Accounts", username="no-reply", domain="accounts.example")
VALUES = {
    "link": "https://accounts.example/verify-email?token=t0k&next=<home>",
    "expires_in": "24 hours",
    "full_name": "Ada <Lovelace>",
    "new_email": "ada+new@example.com",
}


def a_message(kind: MailKind, **values: str) -> MailMessage:
    return MailMessage(
        id=MailMessageId(UUID(int=7)),
        kind=kind,
        to=EmailAddress("ada@example.com"),
        values=values,
        created_at=NOW,
    )


@pytest.fixture(scope="module")
def templates() -> MailTemplates:
    return MailTemplates()


@pytest.mark.parametrize("kind", list(MailKind))
def test_every_kind_renders_its_values_escaped_in_html_and_plain_in_text(
    templates: MailTemplates, kind: MailKind
) -> None:
    rendered = templates.render(a_message(kind, **VALUES))

    assert rendered.subject
    assert "Hello Ada <Lovelace>," in rendered.text
    assert "Hello Ada &lt;Lovelace&gt;," in rendered.html
    assert "<Lovelace>" not in rendered.html
    if "link" in REQUIRED_VALUES[kind]:
        assert VALUES["link"] in rendered.text
        assert "token=t0k&amp;next=&lt;home&gt;" in rendered.html
        assert "24 hours" in rendered.text
    else:
        assert "token=" not in rendered.text + rendered.html
    if kind is MailKind.EMAIL_CHANGE_NOTICE:
        assert "ada+new@example.com" in rendered.text
        assert "ada+new@example.com" in rendered.html


def test_each_kind_has_its_own_subject(templates: MailTemplates) -> None:
    subjects = {templates.render(a_message(kind, **VALUES)).subject for kind in MailKind}

    assert len(subjects) == len(MailKind)


def test_without_an_expiry_the_link_is_only_said_to_work_once(templates: MailTemplates) -> None:
    rendered = templates.render(a_message(MailKind.VERIFY_EMAIL, link=VALUES["link"]))

    assert "The link works once. If you did not create an account" in rendered.text
    assert "expires" not in rendered.text + rendered.html


def test_an_empty_or_absent_name_greets_without_one(templates: MailTemplates) -> None:
    values = {"link": VALUES["link"], "expires_in": "30 minutes"}

    absent = templates.render(a_message(MailKind.PASSWORD_RESET, **values))
    empty = templates.render(a_message(MailKind.PASSWORD_RESET, **values, full_name=""))

    assert absent.text.startswith("Hello,\n")
    assert empty.text == absent.text


@pytest.mark.parametrize(
    ("kind", "values", "reason"),
    [
        (MailKind.VERIFY_EMAIL, {"expires_in": "1 hour"}, "verify_email needs the value link"),
        (
            MailKind.EMAIL_CHANGE_NOTICE,
            {"full_name": "Ada"},
            "email_change_notice needs the value new_email",
        ),
        (
            MailKind.SET_PASSWORD,
            {"link": "javascript:alert(1)", "expires_in": "1 hour"},
            "set_password: the link is not an http(s) URL",
        ),
    ],
)
def test_a_missing_or_unusable_value_is_a_permanent_failure_naming_it(
    templates: MailTemplates, kind: MailKind, values: dict[str, str], reason: str
) -> None:
    with pytest.raises(MailNotSent) as raised:
        templates.render(a_message(kind, **values))

    assert raised.value.reason == reason
    assert raised.value.permanent


def test_the_message_is_text_then_html_with_safe_headers(templates: MailTemplates) -> None:
    message = a_message(MailKind.VERIFY_EMAIL, **VALUES)

    mail = compose(message, templates.render(message), SENDER)

    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["From"] == "Accounts <no-reply@accounts.example>"
    assert mail["To"] == "ada@example.com"
    assert mail["Message-ID"].endswith("@accounts.example>")
    assert mail["Date"] == "Wed, 02 Dec 2026 07:00:00 +0000"


@pytest.mark.parametrize(
    "value",
    [
        "accounts@example.com\r\nBcc: victim@example.net",
        "Accounts\n <accounts@example.com>",
        "a@example.com, b@example.com",
        "Accounts <accounts>",
        "nobody",
    ],
)
def test_a_sender_that_could_inject_headers_or_add_recipients_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        parse_sender(value)


def test_a_sender_may_carry_a_display_name() -> None:
    assert parse_sender("Accounts <no-reply@accounts.example>") == SENDER
    assert parse_sender("no-reply@accounts.example") == Address(
        username="no-reply", domain="accounts.example"
    )


async def test_the_file_sink_writes_one_parseable_eml_per_message(
    templates: MailTemplates, tmp_path: Path
) -> None:
    folder = tmp_path / "var" / "mail"
    sink = FileMailer(folder, templates, SENDER)
    message = a_message(MailKind.PASSWORD_RESET, **VALUES)

    await sink.send(message)
    await sink.send(message)

    [written] = list(folder.iterdir())
    assert written.name == f"20261202T070000-{message.id}.eml"
    parsed = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Reset your password"
    body = parsed.get_body(("plain",))
    assert body is not None
    assert VALUES["link"] in body.get_content()


async def test_an_unwritable_folder_is_a_failure_to_retry(
    templates: MailTemplates, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    sink = FileMailer(blocker / "mail", templates, SENDER)

    with pytest.raises(MailNotSent) as raised:
        await sink.send(a_message(MailKind.PASSWORD_RESET, **VALUES))

    assert not raised.value.permanent
