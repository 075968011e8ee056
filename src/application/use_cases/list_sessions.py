"""List the login sessions of an account that can still be used."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import UserNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from domain.sessions import Session, SessionId
from domain.users import UserId


@dataclass(frozen=True, slots=True)
class ListSessionsQuery:
    principal: Principal
    user_id: UserId | None = None
    """Another user's sessions (admins only); None for the caller's own."""


@dataclass(frozen=True, slots=True)
class SessionList:
    """Active sessions, most recently started first; `current` is the caller's own, if any."""

    items: list[Session]
    current: SessionId | None


class ListSessions:
    """The sessions that have neither ended nor expired: "where am I logged in"."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, query: ListSessionsQuery) -> SessionList:
        principal = query.principal
        user_id = query.user_id if query.user_id is not None else principal.user.id
        if query.user_id is None:
            principal.ensure_bearer()
        else:
            principal.ensure_admin()
        async with self._uow() as uow:
            if user_id != principal.user.id and await uow.users.get_by_id(user_id) is None:
                raise UserNotFound("No user has this id.")
            sessions = await uow.sessions.list_for(user_id, usable_at=self._clock.now())
        return SessionList(items=sessions, current=principal.session_id)
