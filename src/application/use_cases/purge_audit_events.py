"""Delete audit events past their retention."""

from __future__ import annotations

from datetime import timedelta

from application.ports import Clock, UnitOfWorkFactory


class PurgeAuditEvents:
    """Remove events older than the retention period; returns how many.

    The one way events are ever deleted: run it periodically (`accounts purge-audit`, e.g. a
    daily CronJob).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, retention: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._retention = retention

    async def execute(self) -> int:
        async with self._uow() as uow:
            purged = await uow.audit.purge_older_than(self._clock.now() - self._retention)
            await uow.commit()
        return purged
