"""Keyset pagination shared by the listings: page sizes and opaque cursors."""

from __future__ import annotations

import base64
import binascii
from enum import Enum
from uuid import UUID

from application.errors import InvalidCursor, InvalidPageSize

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class Listing(Enum):
    """Which listing a cursor belongs to: its tag, so one listing refuses another's cursors."""

    USERS = b"u1:"
    API_KEYS = b"k1:"


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
