from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from application.errors import InvalidCursor
from application.pagination import (
    Listing,
    decode_cursor,
    decode_time_cursor,
    encode_cursor,
    encode_time_cursor,
)
from domain.users import UserId


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    "user_id",
    [UUID(int=0), UUID(int=1), UUID(int=2**128 - 1), uuid4()],
    ids=["nil", "one", "max", "random"],
)
def test_round_trips(user_id: UUID) -> None:
    assert decode_cursor(Listing.USERS, encode_cursor(Listing.USERS, UserId(user_id))) == user_id


def test_is_url_safe_without_padding() -> None:
    cursor = encode_cursor(Listing.USERS, UserId(UUID(int=2**128 - 1)))

    assert not set(cursor) & {"=", "+", "/"}


def test_does_not_show_the_raw_id() -> None:
    user_id = uuid4()

    assert str(user_id) not in encode_cursor(Listing.USERS, UserId(user_id))
    assert user_id.hex not in encode_cursor(Listing.USERS, UserId(user_id))


VALID = encode_cursor(Listing.USERS, UserId(UUID(int=42)))


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("not-a-cursor", id="garbage"),
        pytest.param("!!!!", id="no-base64-characters"),
        pytest.param("A", id="bad-padding"),
        pytest.param("é" * 8, id="non-ascii"),
        pytest.param(str(UUID(int=42)), id="raw-uuid"),
        pytest.param(VALID[:-2], id="truncated"),
        pytest.param(VALID + "AAAA", id="extended"),
        pytest.param("X" + VALID[1:], id="tampered-prefix"),
        pytest.param(_b64(b"u2:" + bytes(16)), id="other-version"),
        pytest.param(_b64(b"u1:" + bytes(15)), id="id-too-short"),
        pytest.param(_b64(b"u1:" + bytes(17)), id="id-too-long"),
        pytest.param(_b64(bytes(19)), id="no-prefix"),
    ],
)
def test_rejects_cursors_it_did_not_issue(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(Listing.USERS, cursor)


def test_one_listings_cursor_is_refused_by_another() -> None:
    after = UUID(int=42)

    with pytest.raises(InvalidCursor):
        decode_cursor(Listing.API_KEYS, encode_cursor(Listing.USERS, after))
    with pytest.raises(InvalidCursor):
        decode_cursor(Listing.USERS, encode_cursor(Listing.API_KEYS, after))
    assert decode_cursor(Listing.API_KEYS, encode_cursor(Listing.API_KEYS, after)) == after


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 2, 5, 30, 0, 123456, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=["now", "min", "max"],
)
def test_a_time_cursor_round_trips_to_the_microsecond(at: datetime) -> None:
    event_id = uuid4()

    cursor = encode_time_cursor(Listing.AUDIT_EVENTS, at, event_id)

    assert decode_time_cursor(Listing.AUDIT_EVENTS, cursor) == (at, event_id)


@pytest.mark.parametrize(
    "raw",
    [
        Listing.AUDIT_EVENTS.value + (2**62).to_bytes(8, "big") + bytes(16),
        Listing.AUDIT_EVENTS.value + bytes(16),
        Listing.USERS.value + bytes(8) + bytes(16),
    ],
    ids=["beyond-9999", "no-time", "other-listing"],
)
def test_a_time_cursor_we_did_not_issue_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidCursor):
        decode_time_cursor(Listing.AUDIT_EVENTS, _b64(raw))
