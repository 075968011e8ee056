"""Delete an account with everything attached to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.errors import Forbidden, PreconditionFailed, UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from domain.users import UserId, ensure_deletion_leaves_an_admin


@dataclass(frozen=True, slots=True)
class DeleteAccountCommand:
    principal: Principal
    user_id: UserId | None = None
    """Another user's account (admins only); None for the caller's own."""
    if_match: frozenset[int] | None = None
    """Versions the client accepts (from `If-Match`); None means unconditional."""


class DeleteAccount:
    """Delete the account, its sessions, refresh tokens, API keys and external identity links
    in one transaction. Its email can be registered again afterwards.

    Needs a bearer token whose login is recent (`reauth_max_age`, RFC 9470 step-up), for the
    caller's own account as for an admin deleting another. Every active admin row is locked
    first, then the account (the order `UpdateUser` follows): of two admins deleting each
    other at once, the second waits, then finds itself deleted or the last admin.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, reauth_max_age: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._reauth_max_age = reauth_max_age

    async def execute(self, command: DeleteAccountCommand) -> None:
        principal = command.principal
        principal.ensure_bearer()
        other = command.user_id is not None and command.user_id != principal.user.id
        if other:
            principal.ensure_admin()
        principal.ensure_recent_login(self._reauth_max_age, self._clock.now())
        user_id = command.user_id if command.user_id is not None else principal.user.id
        async with self._uow() as uow:
            admin_ids = await uow.users.lock_active_admin_ids()
            if other and principal.user.id not in admin_ids:
                # Demoted or deleted while this request waited for the lock.
                raise Forbidden("This operation needs the admin role.")
            user = await uow.users.get_by_id(user_id, for_update=True)
            if user is None:
                raise UserNotFound("No user has this id.")
            if command.if_match is not None and user.version not in command.if_match:
                raise PreconditionFailed("The user changed since you read it.")
            ensure_deletion_leaves_an_admin(user, active_admin_ids=admin_ids)
            await uow.users.delete(user.id)
            await uow.commit()
