"""An outgoing mail message, as the use case that causes it writes it into the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NewType
from uuid import UUID

from domain.users import EmailAddress

MailMessageId = NewType("MailMessageId", UUID)

MAX_SUBJECT_LENGTH = 200


class MailKind(StrEnum):
    """Why a message is sent: logged and counted per kind, never its content."""

    VERIFY_EMAIL = "verify_email"
    CONFIRM_EMAIL_CHANGE = "confirm_email_change"
    EMAIL_CHANGE_NOTICE = "email_change_notice"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of mail, not a secret
    PASSWORD_CHANGED_NOTICE = "password_changed_notice"  # noqa: S105 - a kind of mail, not a secret
    SET_PASSWORD = "set_password"  # noqa: S105 - a kind of mail, not a secret


@dataclass(frozen=True, slots=True)
class MailMessage:
    """One plain-text message to one recipient; `text` may hold a one-time link."""

    id: MailMessageId
    kind: MailKind
    to: EmailAddress
    subject: str
    text: str = field(repr=False)
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.subject or len(self.subject) > MAX_SUBJECT_LENGTH or "\n" in self.subject:
            raise ValueError("A mail subject is one line of 1 to 200 characters.")
        if not self.text:
            raise ValueError("A mail message needs a body.")
