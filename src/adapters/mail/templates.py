"""Each mail kind's subject, plain-text and HTML parts, from the files in `templates/`.

The values contract (what `MailMessage.values` must hold for each kind; every value is a
one-line string, and no other value is read):

| kind | required | optional |
|---|---|---|
| `verify_email` | `link` | `expires_in`, `full_name` |
| `confirm_email_change` | `link` | `expires_in`, `full_name` |
| `email_change_notice` | `new_email` | `full_name` |
| `password_reset` | `link` | `expires_in`, `full_name` |
| `password_changed_notice` | | `full_name` |
| `set_password` | `link` | `expires_in`, `full_name` |

`link` is an absolute `http(s)` URL (the one-time link); `expires_in` is human text such as
`24 hours` ("The link works once and expires in 24 hours."; without it, "The link works
once."); `full_name` may be empty or absent (the greeting is then "Hello,"); `new_email` is
the address the account is moving to. A missing required value fails that message at send time
(`MailNotSent`, permanent: it is logged and given up, never retried in a loop).

Files: `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`. HTML is autoescaped; text is not
(it is text). Rendering never reaches the network or the file system outside this folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    UndefinedError,
    select_autoescape,
)

from application.ports.mail import MailNotSent
from domain.mail import MailKind, MailMessage

TEMPLATE_DIRECTORY = Path(__file__).resolve().parent / "templates"
REQUIRED_VALUES: dict[MailKind, frozenset[str]] = {
    MailKind.VERIFY_EMAIL: frozenset({"link"}),
    MailKind.CONFIRM_EMAIL_CHANGE: frozenset({"link"}),
    MailKind.EMAIL_CHANGE_NOTICE: frozenset({"new_email"}),
    MailKind.PASSWORD_RESET: frozenset({"link"}),
    MailKind.PASSWORD_CHANGED_NOTICE: frozenset(),
    MailKind.SET_PASSWORD: frozenset({"link"}),
}
MAX_SUBJECT_LENGTH = 200


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """A message's subject line and its two bodies."""

    subject: str
    text: str
    html: str


class MailTemplates:
    """Renders messages from the template files; every kind's files are checked at start."""

    def __init__(self, directory: Path = TEMPLATE_DIRECTORY) -> None:
        self._environment = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
        )
        for kind in MailKind:
            for suffix in ("subject.txt", "txt", "html"):
                self._environment.get_template(f"{kind.value}.{suffix}")

    def render(self, message: MailMessage) -> RenderedMail:
        """The message's parts; raises a permanent `MailNotSent` when a value is missing or
        unusable."""
        kind = message.kind.value
        values = dict(message.values)
        missing = sorted(REQUIRED_VALUES[message.kind] - values.keys())
        if missing:
            noun = "value" if len(missing) == 1 else "values"
            raise MailNotSent(f"{kind} needs the {noun} {', '.join(missing)}", permanent=True)
        link = values.get("link")
        if link is not None and not link.startswith(("https://", "http://")):
            raise MailNotSent(f"{kind}: the link is not an http(s) URL", permanent=True)
        try:
            subject = self._render(f"{kind}.subject.txt", values).strip()
            text = self._render(f"{kind}.txt", values)
            html = self._render(f"{kind}.html", values)
        except UndefinedError as error:
            raise MailNotSent(f"{kind}: {error.message}", permanent=True) from None
        except TemplateError as error:
            raise MailNotSent(
                f"{kind}: template error {type(error).__name__}", permanent=True
            ) from None
        if not subject or len(subject) > MAX_SUBJECT_LENGTH or "\n" in subject or "\r" in subject:
            raise MailNotSent(f"{kind}: the subject must be one short line", permanent=True)
        return RenderedMail(subject=subject, text=text, html=html)

    def _render(self, name: str, values: dict[str, str]) -> str:
        return self._environment.get_template(name).render(values)
