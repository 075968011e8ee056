"""Mailed links: the one-time token each carries, and the mail that carries it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from application.ports import IdGenerator, SecretGenerator, UnitOfWork
from application.ports.rate_limiting import MailQuota
from domain.credentials import (
    ONE_TIME_TOKEN_BYTES,
    OneTimeToken,
    OneTimeTokenId,
    SecretDigest,
    TokenPurpose,
)
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress, User


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Where the links point (`{token}` marks the token) and how long each kind works."""

    verify_email_url: str
    reset_password_url: str
    verification_lifetime: timedelta
    reset_lifetime: timedelta


def link_to(template: str, token: str) -> str:
    """The template with `{token}` replaced by the URL-encoded token."""
    return template.replace("{token}", quote(token, safe=""))


def duration_text(lifetime: timedelta) -> str:
    """A lifetime as people read it in a mail, in its largest whole unit up to hours beyond a
    day: `30 minutes`, `24 hours`, `2 days`, `90 seconds`."""
    seconds = int(lifetime.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0 and (unit != "day" or seconds > size):
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A token ready to store, and the link that carries it in clear."""

    token: OneTimeToken
    link: str


class MailLinks:
    """Makes one-time tokens and the mail around them; queues mail within the caller's unit of
    work, each mail only while its recipient's `mail` allowance lasts."""

    def __init__(
        self,
        secrets: SecretGenerator,
        ids: IdGenerator,
        quota: MailQuota,
        settings: LinkSettings,
    ) -> None:
        self._secrets = secrets
        self._ids = ids
        self._quota = quota
        self.settings = settings

    def issue(
        self,
        user: User,
        purpose: TokenPurpose,
        now: datetime,
        *,
        email: EmailAddress | None = None,
        lifetime: timedelta | None = None,
    ) -> IssuedLink:
        """A new token of `purpose` for `user` and its link (the reset page for a password
        reset, the verification page otherwise)."""
        if lifetime is None:
            lifetime = (
                self.settings.reset_lifetime
                if purpose is TokenPurpose.PASSWORD_RESET
                else self.settings.verification_lifetime
            )
        secret = self._secrets.token(ONE_TIME_TOKEN_BYTES)
        token = OneTimeToken.issue(
            user,
            purpose,
            token_id=OneTimeTokenId(self._ids.new_id()),
            digest=SecretDigest.of(secret),
            now=now,
            lifetime=lifetime,
            email=email,
        )
        template = (
            self.settings.reset_password_url
            if purpose is TokenPurpose.PASSWORD_RESET
            else self.settings.verify_email_url
        )
        return IssuedLink(token, link_to(template, secret))

    async def allows(self, recipient: EmailAddress, kind: MailKind) -> bool:
        """Spend one mail of the recipient's allowance; False when it is spent."""
        return await self._quota.allows(recipient.normalized, kind.value)

    def message(
        self, kind: MailKind, to: EmailAddress, values: Mapping[str, str], now: datetime
    ) -> MailMessage:
        return MailMessage(
            id=MailMessageId(self._ids.new_id()),
            kind=kind,
            to=to,
            values=dict(values),
            created_at=now,
        )

    async def store_and_mail(
        self,
        uow: UnitOfWork,
        issued: IssuedLink,
        kind: MailKind,
        user: User,
        now: datetime,
    ) -> None:
        """Replace the user's earlier tokens of the same purpose with this one and queue its
        mail to the token's address, in the caller's unit of work."""
        token = issued.token
        await uow.one_time_tokens.delete_for(user.id, token.purpose)
        await uow.one_time_tokens.add(token)
        values = {
            "link": issued.link,
            "full_name": user.full_name.value,
            "expires_in": duration_text(token.expires_at - token.created_at),
        }
        await uow.outbox.add(self.message(kind, token.email, values, now))
