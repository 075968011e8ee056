"""Send over SMTP with aiosmtplib: STARTTLS when the server offers it, or implicit TLS."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from urllib.parse import unquote, urlsplit

import aiosmtplib

from adapters.mail.compose import compose
from adapters.mail.templates import MailTemplates
from application.ports.mail import Mailer, MailNotSent
from domain.mail import MailMessage

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
MAX_SERVER_TEXT = 200


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to connect, from `smtp://[user:password@]host[:port]` or `smtps://…`."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("must be smtp://[user:password@]host[:port] or smtps://…")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("an SMTP URL has no path, query or fragment")
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpMailer(Mailer):
    """One connection per message: mail is rare, and a fresh session has no stale state."""

    def __init__(
        self,
        server: SmtpServer,
        templates: MailTemplates,
        sender: Address,
        *,
        timeout_seconds: float,
    ) -> None:
        self._server = server
        self._templates = templates
        self._sender = sender
        self._timeout = timeout_seconds

    async def send(self, message: MailMessage) -> None:
        mail = compose(message, self._templates.render(message), self._sender)
        server = self._server
        try:
            await aiosmtplib.send(
                mail,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.implicit_tls,
                # None: STARTTLS when the server offers it (never with implicit TLS).
                start_tls=False if server.implicit_tls else None,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = ", ".join(str(refusal.code) for refusal in error.recipients)
            raise MailNotSent(f"recipient refused ({codes})") from None
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError) as error:
            raise MailNotSent(
                f"mail server unreachable: {type(error).__name__}", server_unavailable=True
            ) from None
        except aiosmtplib.SMTPAuthenticationError as error:
            raise MailNotSent(
                f"mail server refused our credentials ({error.code})", server_unavailable=True
            ) from None
        except aiosmtplib.SMTPResponseException as error:
            text = " ".join(error.message.split())[:MAX_SERVER_TEXT]
            raise MailNotSent(f"mail server answered {error.code}: {text}") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise MailNotSent(
                f"mail server unreachable: {type(error).__name__}", server_unavailable=True
            ) from None
