"""Keyset pagination shared by the listings: page sizes and opaque cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
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


class Identified(Protocol):
    @property
    def id(self) -> UUID: ...


T = TypeVar("T", bound=Identified)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_of(listing: Listing, rows: Sequence[T], limit: int) -> Page[T]:
    """The first `limit` of `rows` (fetched as `limit + 1`), with a cursor when more follow."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(listing, items[-1].id) if more else None)


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
