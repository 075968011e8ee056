"""Confirm an address through the token of a mailed link: a registration's or a new one's."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.audit import AuditEvents
from application.ports import Clock, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.credentials import SecretDigest, TokenPurpose
from domain.errors import InvalidLink
from domain.users import User

VERIFYING = frozenset({TokenPurpose.VERIFY_EMAIL, TokenPurpose.EMAIL_CHANGE})


@dataclass(frozen=True, slots=True)
class VerifyEmailCommand:
    token: str = field(repr=False)
    context: RequestContext = NO_REQUEST


class VerifyEmail:
    """Spend a verification or email-change token: the address it was mailed to becomes the
    account's email, verified. Any token that does not apply is `InvalidLink`, all alike; an
    address registered by someone else meanwhile is `EmailAlreadyRegistered`."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, events: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, command: VerifyEmailCommand) -> User:
        digest = SecretDigest.of(command.token)
        async with self._uow() as uow:
            now = self._clock.now()
            token = await uow.one_time_tokens.get_by_digest(digest, for_update=True)
            if token is None:
                raise InvalidLink("The link is invalid or has expired.")
            token.check(VERIFYING, now)
            user = await uow.users.get_by_id(token.user_id, for_update=True)
            if user is None:
                raise InvalidLink("The link is invalid or has expired.")
            token.redeem(user, VERIFYING, now)
            await uow.one_time_tokens.update(token)
            if token.purpose is TokenPurpose.EMAIL_CHANGE:
                old_email = user.email
                user.change_email(token.email, now)
                await uow.users.update(user)
                # Links mailed to the old address no longer apply.
                await uow.one_time_tokens.delete_for(user.id, TokenPurpose.VERIFY_EMAIL)
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.USER_EMAIL_CHANGED,
                        command.context,
                        now,
                        actor_id=user.id,
                        subject_id=user.id,
                        details={"old_email": old_email.value, "new_email": user.email.value},
                    )
                )
            elif not user.email_verified:
                user.mark_email_verified(now)
                await uow.users.update(user)
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.USER_EMAIL_VERIFIED,
                        command.context,
                        now,
                        actor_id=user.id,
                        subject_id=user.id,
                    )
                )
            await uow.commit()
        return user
