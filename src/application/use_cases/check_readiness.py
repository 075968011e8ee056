"""Whether the service can serve requests: the readiness probe's answer."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import StorageNotMigrated, StorageUnavailable
from application.ports.persistence import DatabaseProbe
from application.rate_limiting import Throttle


@dataclass(frozen=True, slots=True)
class Readiness:
    """Each dependency's state (`ok`, `not_migrated`, `unavailable`) and the verdict."""

    checks: dict[str, str]
    ready: bool


class CheckReadiness:
    """Asks the database and the rate-limit store; a store that fails open never fails it."""

    def __init__(self, database: DatabaseProbe, throttle: Throttle | None) -> None:
        self._database = database
        self._throttle = throttle

    async def execute(self) -> Readiness:
        checks: dict[str, str] = {}
        try:
            await self._database.check()
            checks["database"] = "ok"
        except StorageNotMigrated:
            checks["database"] = "not_migrated"
        except StorageUnavailable:
            checks["database"] = "unavailable"
        required = {"database"}
        if self._throttle is not None:
            try:
                await self._throttle.check_storage()
                checks["rate_limit"] = "ok"
            except StorageUnavailable:
                checks["rate_limit"] = "unavailable"
            if not self._throttle.fail_open:
                required.add("rate_limit")
        return Readiness(checks, ready=all(checks[name] == "ok" for name in required))
