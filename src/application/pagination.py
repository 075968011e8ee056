"""Opaque keyset cursors for user listings."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from application.errors import InvalidCursor
from domain.users import UserId

_PREFIX = b"u1:"


def encode_cursor(last_id: UserId) -> str:
    """A cursor pointing after `last_id`; clients must treat it as opaque."""
    return base64.urlsafe_b64encode(_PREFIX + last_id.bytes).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> UserId:
    """The id a cursor points after; raises `InvalidCursor` for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
    if len(raw) != len(_PREFIX) + 16 or not raw.startswith(_PREFIX):
        raise InvalidCursor("The cursor is not valid.")
    return UserId(UUID(bytes=raw[len(_PREFIX) :]))
