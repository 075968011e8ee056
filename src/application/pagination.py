"""Keyset pagination shared by the listings: page sizes and opaque cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from application.errors import InvalidCursor, InvalidPageSize

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class Listing(Enum):
    """Which listing a cursor belongs to: its tag, so one listing refuses another's cursors."""

    USERS = b"u1:"
    API_KEYS = b"k1:"
    AUDIT_EVENTS = b"e1:"


class Identified(Protocol):
    @property
    def id(self) -> UUID: ...


class Timed(Identified, Protocol):
    @property
    def occurred_at(self) -> datetime: ...


T = TypeVar("T", bound=Identified)
TimedT = TypeVar("TimedT", bound=Timed)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_of(listing: Listing, rows: Sequence[T], limit: int) -> Page[T]:
    """The first `limit` of `rows` (fetched as `limit + 1`), with a cursor when more follow."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(listing, items[-1].id) if more else None)


def page_by_time(listing: Listing, rows: Sequence[TimedT], limit: int) -> Page[TimedT]:
    """As `page_of`, for listings ordered by time then id: the cursor carries both."""
    items = list(rows[:limit])
    if len(rows) <= limit:
        return Page(items, None)
    last = items[-1]
    return Page(items, encode_time_cursor(listing, last.occurred_at, last.id))


def check_page_size(limit: int) -> None:
    """Raise `InvalidPageSize` unless a page of `limit` items may be served."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidPageSize(f"limit must be between 1 and {MAX_PAGE_SIZE}.")


def encode_cursor(listing: Listing, last_id: UUID) -> str:
    """A cursor pointing after `last_id`; clients must treat it as opaque."""
    raw = listing.value + last_id.bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(listing: Listing, cursor: str) -> UUID:
    """The id a cursor points after; raises `InvalidCursor` for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
    tag = listing.value
    if len(raw) != len(tag) + 16 or not raw.startswith(tag):
        raise InvalidCursor("The cursor is not valid.")
    return UUID(bytes=raw[len(tag) :])


def encode_time_cursor(listing: Listing, at: datetime, last_id: UUID) -> str:
    """A cursor pointing past (`at`, `last_id`); clients must treat it as opaque."""
    micros = (at - _EPOCH) // _MICROSECOND
    raw = listing.value + micros.to_bytes(8, "big", signed=True) + last_id.bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_time_cursor(listing: Listing, cursor: str) -> tuple[datetime, UUID]:
    """The (time, id) a cursor points past; raises `InvalidCursor` for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
    tag = listing.value
    if len(raw) != len(tag) + 8 + 16 or not raw.startswith(tag):
        raise InvalidCursor("The cursor is not valid.")
    micros = int.from_bytes(raw[len(tag) : len(tag) + 8], "big", signed=True)
    try:
        at = _EPOCH + micros * _MICROSECOND
    except OverflowError as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
    return at, UUID(bytes=raw[len(tag) + 8 :])
