"""End one of the caller's own login sessions."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import SessionNotFound
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from domain.sessions import SessionId


@dataclass(frozen=True, slots=True)
class EndSessionCommand:
    principal: Principal
    session_id: SessionId


class EndSession:
    """End a session of the caller: its refresh tokens stop at once, its access tokens at their
    next request. Another user's session, or one already ended or expired, is not found.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: EndSessionCommand) -> None:
        principal = command.principal
        principal.ensure_bearer()
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.get(command.session_id, for_update=True)
            if (
                session is None
                or not session.belongs_to(principal.user.id)
                or not session.is_usable(now)
            ):
                raise SessionNotFound("You have no active session with this id.")
            session.end(now)
            await uow.sessions.update(session)
            await uow.commit()
