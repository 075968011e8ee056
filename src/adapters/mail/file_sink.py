"""Write each message to an `.eml` file in a folder, for development (`make run`)."""

from __future__ import annotations

import asyncio
import os
from email.headerregistry import Address
from pathlib import Path

from adapters.mail.compose import compose
from adapters.mail.templates import MailTemplates
from application.ports.mail import Mailer, MailNotSent
from domain.mail import MailMessage


class FileMailer(Mailer):
    """One `<time>-<id>.eml` per message; sending the same message again rewrites its file."""

    def __init__(self, directory: Path, templates: MailTemplates, sender: Address) -> None:
        self._directory = directory
        self._templates = templates
        self._sender = sender

    async def send(self, message: MailMessage) -> None:
        mail = compose(message, self._templates.render(message), self._sender)
        name = f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
        try:
            await asyncio.to_thread(self._write, name, mail.as_bytes())
        except OSError as error:
            raise MailNotSent(
                f"cannot write to the mail folder: {type(error).__name__}",
                server_unavailable=True,
            ) from None

    def _write(self, name: str, content: bytes) -> None:
        """Written whole to a hidden file, then renamed: a reader never sees half a message."""
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._directory / name
        draft = self._directory / f".{name}.{os.getpid()}.tmp"
        draft.write_bytes(content)
        draft.replace(path)
