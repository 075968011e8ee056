"""Build the MIME message: headers only through the standard library's header objects."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from adapters.mail.templates import RenderedMail
from application.ports.mail import MailNotSent
from domain.mail import MailMessage


def parse_sender(value: str) -> Address:
    """`name <addr@host>` or `addr@host` as an `Address`; ValueError on anything that could
    reach a header as more than one address (CR, LF, several addresses, no domain)."""
    if "\r" in value or "\n" in value:
        raise ValueError("must be one line")
    value = value.strip()
    display_name = ""
    if value.endswith(">") and "<" in value:
        display_name, _, rest = value.rpartition("<")
        display_name = display_name.strip().strip('"').strip()
        value = rest[:-1].strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c in value for c in ' <>,;"'):
        raise ValueError("must be an address like accounts@example.com or Name <accounts@…>")
    return Address(display_name=display_name, username=local, domain=domain)


def compose(message: MailMessage, rendered: RenderedMail, sender: Address) -> EmailMessage:
    """A multipart/alternative message (text first, then HTML) from `sender` to the message's
    recipient; a header value with CR or LF is refused (permanent `MailNotSent`)."""
    recipient = message.to.value
    local, _, domain = recipient.rpartition("@")
    if any(c in recipient for c in "\r\n") or "\r" in rendered.subject or "\n" in rendered.subject:
        raise MailNotSent("a header value held a line break", permanent=True)
    mail = EmailMessage()
    try:
        mail["From"] = sender
        mail["To"] = Address(username=local, domain=domain)
        mail["Subject"] = rendered.subject
    except (ValueError, TypeError) as error:
        raise MailNotSent(f"unusable header: {type(error).__name__}", permanent=True) from None
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = make_msgid(idstring=message.id.hex, domain=sender.domain)
    # RFC 3834: an automatic message, so auto-responders do not answer it.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    return mail
