"""The real clock."""

from __future__ import annotations

from datetime import UTC, datetime

from application.ports import Clock


class SystemClock(Clock):
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
