"""Mail a new verification link to the caller's own address."""

from __future__ import annotations

from dataclasses import dataclass

from application.mail_links import MailLinks
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.credentials import TokenPurpose
from domain.mail import MailKind


@dataclass(frozen=True, slots=True)
class SendVerificationEmailCommand:
    principal: Principal
    context: RequestContext = NO_REQUEST


class SendVerificationEmail:
    """Replace the caller's verification link with a new one, mailed to their address; nothing
    when the address is verified already or its `mail` allowance is spent. Bearer tokens only,
    like every route that manages the account's credentials."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, links: MailLinks) -> None:
        self._uow = uow
        self._clock = clock
        self._links = links

    async def execute(self, command: SendVerificationEmailCommand) -> None:
        command.principal.ensure_bearer()
        user = command.principal.user
        if user.email_verified:
            return
        if not await self._links.allows(user.email, MailKind.VERIFY_EMAIL):
            return
        async with self._uow() as uow:
            now = self._clock.now()
            issued = self._links.issue(user, TokenPurpose.VERIFY_EMAIL, now)
            await self._links.store_and_mail(uow, issued, MailKind.VERIFY_EMAIL, user, now)
            await uow.commit()
