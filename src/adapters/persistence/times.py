"""Datetimes in and out of the database: always aware UTC in the domain, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime


def to_utc(moment: datetime) -> datetime:
    # SQLite stores the wall-clock digits and drops the offset, so they must already be UTC.
    if moment.tzinfo is None:
        raise ValueError("Refusing to store a naive datetime; the domain works in aware UTC.")
    return moment.astimezone(UTC)


def from_db_time(moment: datetime) -> datetime:
    # SQLite hands back what to_utc stored, without an offset; PostgreSQL returns it aware.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def optional_to_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else to_utc(moment)


def optional_from_db_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else from_db_time(moment)
