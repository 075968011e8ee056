"""End every login session of an account."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.errors import UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import end_sessions
from domain.users import UserId


@dataclass(frozen=True, slots=True)
class EndAllSessionsCommand:
    principal: Principal
    user_id: UserId | None = None
    """Another user's sessions (admins only); None for the caller's own, theirs included."""
    context: RequestContext = NO_REQUEST


class EndAllSessions:
    """End every session of the account at once, in one statement that locks them all.

    A refresh racing with it loses either way: it waits for the lock and then finds its
    session ended, or it finished first and the session it rotated is ended right after.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, events: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, command: EndAllSessionsCommand) -> int:
        principal = command.principal
        if command.user_id is None:
            principal.ensure_bearer()
            user_id = principal.user.id
        else:
            principal.ensure_admin()
            user_id = command.user_id
        async with self._uow() as uow:
            if user_id != principal.user.id and await uow.users.get_by_id(user_id) is None:
                raise UserNotFound("No user has this id.")
            now = self._clock.now()
            ended = await end_sessions(
                uow,
                self._events,
                command.context,
                now,
                user_id,
                actor_id=principal.user.id,
                reason="ended_by_user" if command.user_id is None else "ended_by_admin",
            )
            await uow.commit()
        return ended
