"""An admin creates an account whose owner sets the password through a mailed link."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.mail_links import MailLinks
from application.ports import Clock, IdGenerator, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.credentials import TokenPurpose
from domain.mail import MailKind
from domain.users import EmailAddress, FullName, Role, User, UserId


@dataclass(frozen=True, slots=True)
class CreateUserCommand:
    principal: Principal
    email: str
    full_name: str = ""
    role: Role = Role.USER
    context: RequestContext = NO_REQUEST


class CreateUser:
    """Create an active account with no usable password and an unverified address, and mail
    its owner a set-password link: a reset token that lasts as long as a verification link.

    Setting the password through it (`ConfirmPasswordReset`) also verifies the address.
    Admins only; the email must not be registered yet.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        *,
        links: MailLinks,
        events: AuditEvents,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._links = links
        self._events = events

    async def execute(self, command: CreateUserCommand) -> User:
        command.principal.ensure_admin()
        email = EmailAddress(command.email)
        full_name = FullName(command.full_name)
        now = self._clock.now()
        user = User.create_without_password(
            user_id=UserId(self._ids.new_id()),
            email=email,
            full_name=full_name,
            role=command.role,
            now=now,
        )
        created = self._events.new(
            AuditEventType.USER_CREATED,
            command.context,
            now,
            actor_id=command.principal.user.id,
            subject_id=user.id,
            details={"role": user.role.value},
        )
        mailed = await self._links.allows(email, MailKind.SET_PASSWORD)
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.audit.record(created)
            if mailed:
                issued = self._links.issue(
                    user,
                    TokenPurpose.PASSWORD_RESET,
                    now,
                    lifetime=self._links.settings.verification_lifetime,
                )
                await self._links.store_and_mail(uow, issued, MailKind.SET_PASSWORD, user, now)
            await uow.commit()
        return user
