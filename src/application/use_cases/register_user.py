"""Register a new account: a user through the API, an admin from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.mail_links import MailLinks
from application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.credentials import TokenPurpose
from domain.mail import MailKind
from domain.users import EmailAddress, FullName, PasswordPolicy, Role, User, UserId


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    email: str
    password: str = field(repr=False)
    full_name: str = ""
    role: Role = Role.USER
    context: RequestContext = NO_REQUEST


class RegisterUser:
    """Create an active account with the command's role; the email must not be registered yet.

    A verification link goes to the address in the same transaction, while the address's
    `mail` allowance lasts. The password is checked and hashed before any transaction opens,
    so no database connection ever waits on the hash.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        ids: IdGenerator,
        policy: PasswordPolicy,
        *,
        events: AuditEvents,
        links: MailLinks,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._ids = ids
        self._policy = policy
        self._events = events
        self._links = links

    async def execute(self, command: RegisterUserCommand) -> User:
        email = EmailAddress(command.email)
        full_name = FullName(command.full_name)
        self._policy.check(command.password, email=email)
        password_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        user = User.register(
            user_id=UserId(self._ids.new_id()),
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            now=now,
            role=command.role,
        )
        event = self._events.new(
            AuditEventType.USER_REGISTERED,
            command.context,
            now,
            subject_id=user.id,
            details={"role": user.role.value},
        )
        mailed = await self._links.allows(email, MailKind.VERIFY_EMAIL)
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.audit.record(event)
            if mailed:
                issued = self._links.issue(user, TokenPurpose.VERIFY_EMAIL, now)
                await self._links.store_and_mail(uow, issued, MailKind.VERIFY_EMAIL, user, now)
            await uow.commit()
        return user
