"""Ports of mail delivery: the transport that sends a message, and what a sender reports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

from domain.mail import MailKind, MailMessage


class MailNotSent(Exception):
    """The message did not leave; `reason` is safe to store and log (no secret, no link).

    `permanent`: retrying cannot help (a template value is missing, a header would be
    unsafe). `server_unavailable`: the mail server could not be reached at all, so the other
    messages of a batch would fail the same way.
    """

    def __init__(
        self, reason: str, *, permanent: bool = False, server_unavailable: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.server_unavailable = server_unavailable


class Mailer(Protocol):
    """Renders a queued message from its kind's templates and hands it to the mail system."""

    async def send(self, message: MailMessage) -> None:
        """Deliver the message, or raise `MailNotSent`; returns once the server accepted it."""
        ...


class MailDeliveryObserver(Protocol):
    """Hears what the sender did, for logs and metrics; never sees a template value."""

    def sent(self, message: MailMessage, attempts: int) -> None:
        """The message was accepted on its `attempts`-th attempt."""
        ...

    def failed(self, message: MailMessage, error: MailNotSent, retry_at: datetime) -> None:
        """This attempt failed; the message is due again at `retry_at`."""
        ...

    def gave_up(self, message: MailMessage, error: MailNotSent, attempts: int) -> None:
        """The message will never be sent; its values are forgotten."""
        ...

    def backlog(self, pending: Mapping[MailKind, int], oldest_age: timedelta | None) -> None:
        """Messages still to be sent, by kind, and how long the oldest has waited."""
        ...

    def pass_failed(self, error: Exception) -> None:
        """A delivery pass could not run (the database is down); the sender tries again."""
        ...
