"""Mail the service sends: written with the change that causes it, delivered after commit."""

from domain.mail.messages import MailKind, MailMessage, MailMessageId

__all__ = ["MailKind", "MailMessage", "MailMessageId"]
