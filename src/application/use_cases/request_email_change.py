"""Ask to change one's email address: proven by the current password, confirmed by mail."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.errors import EmailAlreadyRegistered, InvalidCurrentPassword
from application.mail_links import MailLinks
from application.passwords import verify_password
from application.ports import Clock, PasswordHasher, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.credentials import TokenPurpose
from domain.mail import MailKind
from domain.users import EmailAddress, PasswordPolicy


@dataclass(frozen=True, slots=True)
class RequestEmailChangeCommand:
    principal: Principal
    new_email: str
    current_password: str = field(repr=False)
    context: RequestContext = NO_REQUEST


class RequestEmailChange:
    """Mail a confirmation link to the new address and a notice to the current one.

    Nothing changes yet: the address changes, verified, only when the link is confirmed
    (`VerifyEmail`), and an earlier change link stops working. The new address must not be
    registered (the caller's own included). Bearer tokens only; each mail only while its
    recipient's `mail` allowance lasts.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        policy: PasswordPolicy,
        *,
        links: MailLinks,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._policy = policy
        self._links = links

    async def execute(self, command: RequestEmailChangeCommand) -> None:
        command.principal.ensure_bearer()
        user = command.principal.user
        new_email = EmailAddress(command.new_email)
        check = await verify_password(
            self._hasher, self._policy, command.current_password, user.password_hash
        )
        if not check.valid:
            raise InvalidCurrentPassword("The current password is not correct.")
        async with self._uow() as uow:
            if new_email == user.email or await uow.users.get_by_email(new_email) is not None:
                raise EmailAlreadyRegistered("An account with this email already exists.")
            now = self._clock.now()
            if await self._links.allows(new_email, MailKind.CONFIRM_EMAIL_CHANGE):
                issued = self._links.issue(user, TokenPurpose.EMAIL_CHANGE, now, email=new_email)
                await self._links.store_and_mail(
                    uow, issued, MailKind.CONFIRM_EMAIL_CHANGE, user, now
                )
            if await self._links.allows(user.email, MailKind.EMAIL_CHANGE_NOTICE):
                notice = {"full_name": user.full_name.value, "new_email": new_email.value}
                await uow.outbox.add(
                    self._links.message(MailKind.EMAIL_CHANGE_NOTICE, user.email, notice, now)
                )
            await uow.commit()
