"""Ask for a password-reset link by email address, without learning whether it has an account."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.mail_links import MailLinks
from application.ports import Clock, IdGenerator, Pseudonymizer, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.credentials import TokenPurpose
from domain.mail import MailKind
from domain.users import EmailAddress, FullName, Role, User, UserId


@dataclass(frozen=True, slots=True)
class RequestPasswordResetCommand:
    email: str
    context: RequestContext = NO_REQUEST


class RequestPasswordReset:
    """Mail a reset link to an active account's address; for any other address, do the same
    work without a trace in the answer.

    Both paths spend the address's `mail` allowance, make a token, run the same statements
    in one transaction (read the account, replace the reset tokens, two inserts, record the
    request) and return nothing, so neither the answer nor its timing tells whether the
    account exists. The request is audited either way: under the account, or under a keyed
    pseudonym of the address.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        *,
        links: MailLinks,
        events: AuditEvents,
        pseudonyms: Pseudonymizer,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._links = links
        self._events = events
        self._pseudonyms = pseudonyms

    async def execute(self, command: RequestPasswordResetCommand) -> None:
        email = EmailAddress(command.email)
        allowed = await self._links.allows(email, MailKind.PASSWORD_RESET)
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get_by_email(email)
            if user is not None and user.is_active and allowed:
                issued = self._links.issue(user, TokenPurpose.PASSWORD_RESET, now)
                await self._links.store_and_mail(uow, issued, MailKind.PASSWORD_RESET, user, now)
                event = self._events.new(
                    AuditEventType.USER_PASSWORD_RESET_REQUESTED,
                    command.context,
                    now,
                    subject_id=user.id,
                    details={"mailed": True},
                )
            else:
                # The statements of the mailing path, storing nothing: replacing the token
                # (for an id no account has) and two inserts, as for the token and its mail.
                phantom = User.create_without_password(
                    user_id=UserId(self._ids.new_id()),
                    email=email,
                    full_name=FullName(""),
                    role=Role.USER,
                    now=now,
                )
                decoy = self._links.issue(phantom, TokenPurpose.PASSWORD_RESET, now).token
                await uow.one_time_tokens.delete_for(phantom.id, TokenPurpose.PASSWORD_RESET)
                await uow.one_time_tokens.rehearse_add(decoy)
                await uow.one_time_tokens.rehearse_add(decoy)
                event = self._events.new(
                    AuditEventType.USER_PASSWORD_RESET_REQUESTED,
                    command.context,
                    now,
                    subject_id=user.id if user is not None else None,
                    details={"mailed": False}
                    if user is not None
                    else {
                        "mailed": False,
                        "email_pseudonym": self._pseudonyms.pseudonym(email.normalized),
                    },
                )
            await uow.audit.record(event)
            await uow.commit()
