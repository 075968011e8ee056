"""Set a new password with the token of a mailed reset (or set-password) link."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.mail_links import MailLinks
from application.ports import Clock, PasswordHasher, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import end_sessions
from domain.audit import AuditEventType
from domain.credentials import SecretDigest, TokenPurpose
from domain.errors import InvalidLink, WeakPassword
from domain.mail import MailKind
from domain.users import PasswordPolicy

RESETTING = frozenset({TokenPurpose.PASSWORD_RESET})


@dataclass(frozen=True, slots=True)
class ConfirmPasswordResetCommand:
    token: str = field(repr=False)
    new_password: str = field(repr=False)
    context: RequestContext = NO_REQUEST


class ConfirmPasswordReset:
    """Spend a reset token: store the new password's hash, verify the address the link was
    mailed to, end every session, delete every API key (whoever held the account may have
    made one), void the other reset links, and mail a notice.

    The token is checked, and the password checked and hashed, before the transaction that
    spends it: a weak password leaves the link usable, and no connection waits on the hash.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        policy: PasswordPolicy,
        *,
        links: MailLinks,
        events: AuditEvents,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._policy = policy
        self._links = links
        self._events = events

    async def execute(self, command: ConfirmPasswordResetCommand) -> None:
        digest = SecretDigest.of(command.token)
        async with self._uow() as uow:
            token = await uow.one_time_tokens.get_by_digest(digest)
            user = await uow.users.get_by_id(token.user_id) if token is not None else None
            if token is None or user is None:
                raise InvalidLink("The link is invalid or has expired.")
            token.check_for(user, RESETTING, self._clock.now())
        try:
            self._policy.check(command.new_password, email=user.email)
        except WeakPassword as exc:
            raise WeakPassword(str(exc), field="new_password") from None
        new_hash = await self._hasher.hash(command.new_password)
        notice = await self._links.allows(user.email, MailKind.PASSWORD_CHANGED_NOTICE)
        async with self._uow() as uow:
            now = self._clock.now()
            token = await uow.one_time_tokens.get_by_digest(digest, for_update=True)
            if token is None:
                raise InvalidLink("The link is invalid or has expired.")
            user = await uow.users.get_by_id(token.user_id, for_update=True)
            if user is None:
                raise InvalidLink("The link is invalid or has expired.")
            token.redeem(user, RESETTING, now)
            newly_verified = not user.email_verified
            user.change_password_hash(new_hash, now)
            user.mark_email_verified(now)
            await uow.users.update(user)
            # Every reset link of the account dies with this one, the one just used included.
            await uow.one_time_tokens.delete_for(user.id, TokenPurpose.PASSWORD_RESET)
            keys = await uow.api_keys.delete_all_of(user.id)
            await uow.audit.record(
                self._events.new(
                    AuditEventType.USER_PASSWORD_RESET,
                    command.context,
                    now,
                    actor_id=user.id,
                    subject_id=user.id,
                    details={"api_keys_deleted": keys},
                )
            )
            if newly_verified:
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.USER_EMAIL_VERIFIED,
                        command.context,
                        now,
                        actor_id=user.id,
                        subject_id=user.id,
                    )
                )
            await end_sessions(
                uow,
                self._events,
                command.context,
                now,
                user.id,
                actor_id=user.id,
                reason="password_reset",
            )
            if notice:
                await uow.outbox.add(
                    self._links.message(
                        MailKind.PASSWORD_CHANGED_NOTICE,
                        user.email,
                        {"full_name": user.full_name.value},
                        now,
                    )
                )
            await uow.commit()
