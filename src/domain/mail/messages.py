"""An outgoing mail message, as the use case that causes it writes it into the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NewType
from uuid import UUID

from domain.users import EmailAddress

MailMessageId = NewType("MailMessageId", UUID)


class MailKind(StrEnum):
    """Which message to send; each kind has its own templates (subject, text and HTML)."""

    VERIFY_EMAIL = "verify_email"
    CONFIRM_EMAIL_CHANGE = "confirm_email_change"
    EMAIL_CHANGE_NOTICE = "email_change_notice"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of mail, not a secret
    PASSWORD_CHANGED_NOTICE = "password_changed_notice"  # noqa: S105 - a kind of mail, not a secret
    SET_PASSWORD = "set_password"  # noqa: S105 - a kind of mail, not a secret


@dataclass(frozen=True, slots=True)
class MailMessage:
    """One message of `kind` to one recipient, with the values its templates fill in.

    The values may hold a one-time link: they stay out of reprs and logs, and the outbox
    forgets them once the message is sent.
    """

    id: MailMessageId
    kind: MailKind
    to: EmailAddress
    values: Mapping[str, str] = field(repr=False)
    created_at: datetime

    def __post_init__(self) -> None:
        for name, value in self.values.items():
            if not name.isidentifier() or "\r" in value or "\n" in value:
                raise ValueError("Mail values are one-line strings under identifier names.")
