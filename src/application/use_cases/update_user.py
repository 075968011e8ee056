"""Change another user's name, role or activity, as an admin."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents, changed_fields, profile_of
from application.errors import Forbidden, PreconditionFailed, UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import (
    AnyPrincipal,
    ClientPrincipal,
    actor_of,
    ensure_can_write_users,
)
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import end_sessions
from domain.audit import AuditEventType
from domain.users import FullName, Role, User, UserId, ensure_an_active_admin_remains


@dataclass(frozen=True, slots=True)
class UpdateUserCommand:
    principal: AnyPrincipal
    user_id: UserId
    full_name: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    if_match: frozenset[int] | None = None
    """Versions the client accepts (from `If-Match`); None means unconditional."""
    context: RequestContext = NO_REQUEST


class UpdateUser:
    """Apply an admin's changes atomically, never leaving the service without an active admin.

    Deactivation also ends every login session of the user in the same transaction; their
    access tokens and API keys fail at the next request because principals are read fresh.

    When the change touches role or activity, every active admin row is locked first (always in
    that order, so two such updates cannot deadlock) and the caller must be among them: of two
    admins demoting each other at once, the second waits, then is refused.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, events: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, command: UpdateUserCommand) -> User:
        ensure_can_write_users(command.principal)
        full_name = FullName(command.full_name) if command.full_name is not None else None
        changes_privileges = command.role is not None or command.is_active is not None
        async with self._uow() as uow:
            admin_ids: list[UserId] = []
            if changes_privileges:
                admin_ids = await uow.users.lock_active_admin_ids()
                # Re-checked under the lock: an admin demoted while this request waited
                # must not still grant or take away privileges.
                # A client's scope is checked once: it holds no role to lose meanwhile.
                principal = command.principal
                if (
                    not isinstance(principal, ClientPrincipal)
                    and principal.user.id not in admin_ids
                ):
                    raise Forbidden("This operation needs the admin role.")
            user = await uow.users.get_by_id(command.user_id, for_update=True)
            if user is None:
                raise UserNotFound("No user has this id.")
            if command.if_match is not None and user.version not in command.if_match:
                raise PreconditionFailed("The user changed since you read it.")
            was_active_admin = user.is_active_admin
            before = profile_of(user)
            now = self._clock.now()
            if full_name is not None:
                user.rename(full_name, now)
            if command.role is not None:
                user.change_role(command.role, now)
            if command.is_active is True:
                user.reactivate(now)
            elif command.is_active is False:
                user.deactivate(now)
            ensure_an_active_admin_remains(
                user, was_active_admin=was_active_admin, active_admin_ids=admin_ids
            )
            after = profile_of(user)
            if after != before:
                await uow.users.update(user)
                actor_id = actor_of(command.principal)
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.USER_UPDATED,
                        command.context,
                        now,
                        actor_id=actor_id,
                        subject_id=user.id,
                        details=changed_fields(before, after),
                    )
                )
                if not user.is_active:
                    # Same transaction: a deactivated account keeps no session to refresh.
                    await end_sessions(
                        uow,
                        self._events,
                        command.context,
                        now,
                        user.id,
                        actor_id=actor_id,
                        reason="deactivated",
                    )
                await uow.commit()
        return user
