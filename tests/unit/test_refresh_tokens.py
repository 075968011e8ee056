from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from uuid import UUID

import pytest

from domain.credentials import RefreshToken, RefreshTokenId, SecretDigest
from domain.errors import RefreshTokenExpired, RefreshTokenReused
from domain.sessions import Session, SessionId
from domain.users import UserId

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
TOKEN_LIFETIME = timedelta(days=30)
SESSION_LIFETIME = timedelta(days=90)
_SERIALS = count(11)


def a_session(now: datetime = NOW) -> Session:
    return Session.start(
        session_id=SessionId(UUID(int=1)),
        user_id=UserId(UUID(int=2)),
        now=now,
        lifetime=SESSION_LIFETIME,
    )


def first_token(session: Session, now: datetime = NOW) -> RefreshToken:
    return RefreshToken.issue(
        session,
        token_id=RefreshTokenId(UUID(int=10)),
        digest=SecretDigest.of("first"),
        now=now,
        lifetime=TOKEN_LIFETIME,
    )


def rotate(token: RefreshToken, session: Session, now: datetime) -> RefreshToken:
    serial = next(_SERIALS)
    return token.rotate(
        session,
        successor_id=RefreshTokenId(UUID(int=serial)),
        successor_digest=SecretDigest.of(f"successor-{serial}"),
        now=now,
        lifetime=TOKEN_LIFETIME,
    )


def test_a_session_expires_after_its_absolute_lifetime() -> None:
    session = a_session()

    assert session.created_at == NOW
    assert session.expires_at == NOW + SESSION_LIFETIME
    assert session.is_usable(NOW)
    assert not session.is_usable(NOW + SESSION_LIFETIME)


def test_issue_gives_a_token_of_the_session_for_its_lifetime() -> None:
    session = a_session()

    token = first_token(session)

    assert token.session_id == session.id
    assert token.user_id == session.user_id
    assert token.digest == SecretDigest.of("first")
    assert token.issued_at == NOW
    assert token.expires_at == NOW + TOKEN_LIFETIME
    assert not token.is_used


def test_issue_near_the_end_of_the_session_is_capped_at_the_session_expiry() -> None:
    session = a_session()
    late = NOW + SESSION_LIFETIME - timedelta(days=1)

    token = first_token(session, late)

    assert token.expires_at == session.expires_at


def test_issue_in_an_ended_session_is_refused() -> None:
    session = a_session()
    session.end(NOW)

    with pytest.raises(RefreshTokenExpired):
        first_token(session)


def test_issue_after_the_session_ended_is_refused() -> None:
    session = a_session()

    with pytest.raises(RefreshTokenExpired):
        first_token(session, NOW + SESSION_LIFETIME)


def test_rotate_spends_the_token_and_returns_a_successor_in_the_same_session() -> None:
    session = a_session()
    token = first_token(session)
    later = NOW + timedelta(days=1)

    successor = rotate(token, session, later)

    assert token.is_used
    assert token.used_at == later
    assert successor.session_id == session.id
    assert successor.user_id == session.user_id
    assert successor.id != token.id
    assert successor.digest != token.digest
    assert successor.issued_at == later
    assert successor.expires_at == later + TOKEN_LIFETIME
    assert not successor.is_used


def test_rotating_a_spent_token_is_reuse() -> None:
    session = a_session()
    token = first_token(session)
    rotate(token, session, NOW + timedelta(minutes=1))

    with pytest.raises(RefreshTokenReused):
        rotate(token, session, NOW + timedelta(minutes=2))

    assert token.used_at == NOW + timedelta(minutes=1)


def test_an_expired_token_does_not_rotate() -> None:
    session = a_session()
    token = first_token(session)

    with pytest.raises(RefreshTokenExpired):
        rotate(token, session, NOW + TOKEN_LIFETIME)

    assert not token.is_used


def test_a_token_of_an_ended_session_does_not_rotate() -> None:
    session = a_session()
    token = first_token(session)
    session.end(NOW + timedelta(minutes=1))

    with pytest.raises(RefreshTokenExpired):
        rotate(token, session, NOW + timedelta(minutes=2))

    assert not token.is_used


def test_rotation_never_carries_a_session_past_its_absolute_expiry() -> None:
    session = a_session()
    token = first_token(session)
    for day in (29, 58, 87):
        token = rotate(token, session, NOW + timedelta(days=day))

    assert token.expires_at == session.expires_at
    with pytest.raises(RefreshTokenExpired):
        rotate(token, session, session.expires_at)


def test_a_token_rotates_only_with_its_own_session() -> None:
    session = a_session()
    token = first_token(session)
    other = Session.start(
        session_id=SessionId(UUID(int=99)),
        user_id=session.user_id,
        now=NOW,
        lifetime=SESSION_LIFETIME,
    )

    with pytest.raises(ValueError, match="session"):
        rotate(token, other, NOW)

    assert not token.is_used


def test_end_keeps_the_first_time() -> None:
    session = a_session()

    session.end(NOW + timedelta(minutes=1))
    session.end(NOW + timedelta(minutes=2))

    assert session.is_ended
    assert session.ended_at == NOW + timedelta(minutes=1)
    assert not session.is_usable(NOW + timedelta(minutes=3))


def test_entities_compare_by_id() -> None:
    session = a_session()
    token = first_token(session)
    copy = RefreshToken(
        id=token.id,
        session_id=token.session_id,
        user_id=token.user_id,
        digest=SecretDigest.of("something else"),
        issued_at=NOW,
        expires_at=NOW,
    )

    assert copy == token
    assert hash(copy) == hash(token)
    assert a_session(NOW + timedelta(days=1)) == session


def test_a_session_records_its_client_and_cuts_a_long_user_agent() -> None:
    session = Session.start(
        session_id=SessionId(UUID(int=1)),
        user_id=UserId(UUID(int=2)),
        now=NOW,
        lifetime=SESSION_LIFETIME,
        client_ip="2001:db8::1",
        user_agent="x" * 1000,
    )

    assert session.client_ip == "2001:db8::1"
    assert session.user_agent == "x" * 256
    assert (session.created_at, session.last_used_at, session.auth_time) == (NOW, NOW, NOW)


def test_a_session_needs_an_authentication_method() -> None:
    with pytest.raises(ValueError, match="authentication method"):
        Session.start(
            session_id=SessionId(UUID(int=1)),
            user_id=UserId(UUID(int=2)),
            now=NOW,
            lifetime=SESSION_LIFETIME,
            amr=(),
        )


def test_touch_never_moves_last_use_backwards() -> None:
    session = a_session()
    session.touch(NOW + timedelta(hours=2))
    session.touch(NOW + timedelta(hours=1))

    assert session.last_used_at == NOW + timedelta(hours=2)
