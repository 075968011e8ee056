"""A mail message holds one subject line and a body."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from tests.fakes import DEFAULT_NOW


@pytest.mark.parametrize("subject", ["", "a\nBcc: x@example.com", "x" * 201])
def test_a_subject_is_one_line_of_at_most_200_characters(subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        MailMessage(
            id=MailMessageId(UUID(int=1)),
            kind=MailKind.PASSWORD_RESET,
            to=EmailAddress("a@example.com"),
            subject=subject,
            text="body",
            created_at=DEFAULT_NOW,
        )


def test_the_body_never_shows_in_a_repr() -> None:
    message = MailMessage(
        id=MailMessageId(UUID(int=1)),
        kind=MailKind.PASSWORD_RESET,
        to=EmailAddress("a@example.com"),
        subject="Reset your password",
        text="https://example.com/reset-password?token=secret-token",
        created_at=DEFAULT_NOW,
    )
    assert "secret-token" not in repr(message)
