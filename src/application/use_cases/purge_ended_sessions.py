"""Delete login sessions that can never be used again."""

from __future__ import annotations

from application.ports import Clock, UnitOfWorkFactory


class PurgeEndedSessions:
    """Remove ended and expired sessions with their refresh tokens; returns how many.

    Spent tokens are kept while their session lives (a spent token coming back is how reuse
    is detected); once the session has ended nothing can use them, and they only grow the
    table. Expired MFA login challenges (`mfa_token`s) go too. Run it periodically
    (`accounts purge-sessions`, e.g. a daily CronJob).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self) -> int:
        async with self._uow() as uow:
            now = self._clock.now()
            purged = await uow.sessions.purge_ended(now)
            await uow.mfa_challenges.purge_expired(now)
            await uow.commit()
        return purged
