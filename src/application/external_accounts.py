"""Local accounts for people an external identity provider vouches for."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.errors import EmailAlreadyRegistered, ExternalIdentityTaken, InvalidToken
from application.ports import Clock, ExternalIdentity, IdGenerator, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from domain.audit import AuditEventType
from domain.errors import InvalidValue
from domain.users import EmailAddress, FullName, Role, User, UserId

ADMIN_ROLE = "admin"


@dataclass(frozen=True, slots=True)
class ExternalAccounts:
    """Maps (issuer, subject) to a local user, provisioning one on first sight.

    The link is by subject, never by email: an email that already belongs to a local account
    is refused rather than merged, since the provider may not have verified it and a merge
    would hand that account to whoever controls the external identity. The role comes from
    the provider's roles claim at provisioning only; afterwards admins manage it here.
    """

    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    events: AuditEvents

    async def user_for(
        self, identity: ExternalIdentity, context: RequestContext = NO_REQUEST
    ) -> User:
        """The local user of `identity`; raises `InvalidToken` when none can be made."""
        user = await self._linked_user(identity)
        if user is not None:
            return user
        try:
            return await self._provision(identity, context)
        except (ExternalIdentityTaken, EmailAlreadyRegistered):
            # Either a concurrent first request provisioned this identity a moment ago (its
            # email or its link landed first), or the email belongs to a local account.
            user = await self._linked_user(identity)
            if user is None:
                raise InvalidToken(
                    "The email belongs to an account not linked to this identity."
                ) from None
            return user

    async def _linked_user(self, identity: ExternalIdentity) -> User | None:
        async with self.uow() as uow:
            user_id = await uow.external_identities.find_user_id(identity.issuer, identity.subject)
            if user_id is None:
                return None
            user = await uow.users.get_by_id(user_id)
        if user is None:
            raise InvalidToken("The token's subject does not exist.")
        return user

    async def _provision(self, identity: ExternalIdentity, context: RequestContext) -> User:
        if identity.email is None or identity.email_verified is False:
            raise InvalidToken("The identity provider's token carries no verified email.")
        try:
            email = EmailAddress(identity.email)
            name = _full_name(identity.name)
        except InvalidValue as exc:
            raise InvalidToken("The identity provider's email is not usable.") from exc
        now = self.clock.now()
        role = Role.ADMIN if ADMIN_ROLE in identity.roles else Role.USER
        user = User.provision_external(
            user_id=UserId(self.ids.new_id()),
            email=email,
            full_name=name,
            role=role,
            now=now,
            email_verified=identity.email_verified is True,
        )
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.external_identities.link(identity.issuer, identity.subject, user.id, now)
            await uow.audit.record(
                self.events.new(
                    AuditEventType.USER_REGISTERED,
                    context,
                    now,
                    actor_id=user.id,
                    subject_id=user.id,
                    details={"role": user.role.value, "issuer": identity.issuer},
                )
            )
            await uow.commit()
        return user


def _full_name(name: str | None) -> FullName:
    if name is None:
        return FullName("")
    try:
        return FullName(name)
    except InvalidValue:
        return FullName("")
