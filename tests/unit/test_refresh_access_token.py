from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from application.errors import InvalidCredentials
from application.use_cases.refresh_access_token import RefreshTokenReuseDetected
from domain.credentials import RefreshToken, SecretDigest
from domain.sessions import Session
from tests.fakes import FakeTokens, FakeUnitOfWork, FixedClock
from tests.unit.builders import SessionFlows, UserSeeder
from tests.unit.conftest import REFRESH_TOKEN_LIFETIME, SESSION_LIFETIME


def stored_token(uow: FakeUnitOfWork, secret: str) -> RefreshToken:
    digest = SecretDigest.of(secret)
    matches = [t for t in uow.refresh_store.tokens.values() if t.digest == digest]
    assert len(matches) == 1
    return matches[0]


async def test_login_starts_a_session_with_one_refresh_token(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    clock: FixedClock,
) -> None:
    user = seed()

    issued = await auth.login(user)

    token = stored_token(uow, issued.refresh_token)
    family = uow.session_store.sessions[token.session_id]
    assert family.user_id == token.user_id == user.id
    assert family.expires_at == clock.now() + SESSION_LIFETIME
    assert token.expires_at == issued.refresh_expires_at == clock.now() + REFRESH_TOKEN_LIFETIME
    assert tokens.claims_of(issued.access_token.value).session_id == family.id


async def test_refresh_returns_a_new_pair_of_the_same_session(
    auth: SessionFlows,
    seed: UserSeeder,
    tokens: FakeTokens,
    clock: FixedClock,
) -> None:
    user = seed()
    first = await auth.login(user)
    clock.advance(timedelta(minutes=20))

    second = await auth.refresh(first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert second.access_token.value != first.access_token.value
    first_claims = tokens.claims_of(first.access_token.value)
    second_claims = tokens.verify_access_token(second.access_token.value)
    assert second_claims.subject == user.id
    assert second_claims.session_id is not None
    assert second_claims.session_id == first_claims.session_id
    assert second_claims.issued_at == clock.now()
    assert second.refresh_expires_at == clock.now() + REFRESH_TOKEN_LIFETIME


async def test_refresh_marks_the_old_token_used_and_stores_its_successor(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    first = await auth.login(seed())
    clock.advance(timedelta(minutes=20))

    second = await auth.refresh(first.refresh_token)

    old = stored_token(uow, first.refresh_token)
    new = stored_token(uow, second.refresh_token)
    assert old.used_at == clock.now()
    assert not new.is_used
    assert new.session_id == old.session_id
    assert not uow.session_store.sessions[old.session_id].is_ended


async def test_the_successor_refreshes_in_turn(auth: SessionFlows, seed: UserSeeder) -> None:
    issued = await auth.login(seed())

    for _ in range(3):
        issued = await auth.refresh(issued.refresh_token)


async def test_reusing_a_spent_token_revokes_the_whole_session(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    first = await auth.login(seed())
    second = await auth.refresh(first.refresh_token)
    clock.advance(timedelta(minutes=1))

    with pytest.raises(RefreshTokenReuseDetected):
        await auth.refresh(first.refresh_token)

    family = uow.session_store.sessions[stored_token(uow, first.refresh_token).session_id]
    assert family.ended_at == clock.now()
    # The thief and the victim both lose the session: the successor is dead too.
    with pytest.raises(InvalidCredentials):
        await auth.refresh(second.refresh_token)
    assert not stored_token(uow, second.refresh_token).is_used


async def test_reuse_is_reported_as_invalid_credentials_with_the_same_message(
    auth: SessionFlows, seed: UserSeeder
) -> None:
    first = await auth.login(seed())
    await auth.refresh(first.refresh_token)

    with pytest.raises(InvalidCredentials) as reuse:
        await auth.refresh(first.refresh_token)
    with pytest.raises(InvalidCredentials) as unknown:
        await auth.refresh("never-issued")

    assert str(reuse.value) == str(unknown.value)


async def test_reuse_leaves_other_sessions_of_the_user_alone(
    auth: SessionFlows, seed: UserSeeder
) -> None:
    user = seed()
    laptop = await auth.login(user)
    phone = await auth.login(user)
    await auth.refresh(laptop.refresh_token)

    with pytest.raises(RefreshTokenReuseDetected):
        await auth.refresh(laptop.refresh_token)

    await auth.refresh(phone.refresh_token)


async def test_an_expired_refresh_token_fails(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    issued = await auth.login(seed())
    clock.advance(REFRESH_TOKEN_LIFETIME)

    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.refresh_token)

    assert not stored_token(uow, issued.refresh_token).is_used


async def test_a_token_refreshes_until_just_before_it_expires(
    auth: SessionFlows,
    seed: UserSeeder,
    clock: FixedClock,
) -> None:
    issued = await auth.login(seed())
    clock.advance(REFRESH_TOKEN_LIFETIME - timedelta(seconds=1))

    await auth.refresh(issued.refresh_token)


async def test_a_session_ends_at_its_absolute_lifetime_however_recently_rotated(
    auth: SessionFlows,
    seed: UserSeeder,
    clock: FixedClock,
) -> None:
    started = clock.now()
    issued = await auth.login(seed())
    for _ in range(3):
        clock.advance(timedelta(days=29))
        issued = await auth.refresh(issued.refresh_token)
    # Rotated a day ago, at day 87: the new token is capped at the session's end.
    assert issued.refresh_expires_at == started + SESSION_LIFETIME
    clock.set(started + SESSION_LIFETIME)

    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.refresh_token)


async def test_a_deactivated_users_token_fails(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    user = seed()
    issued = await auth.login(user)
    # Deactivated without revoking the sessions: the user check must hold on its own.
    async with uow:
        current = await uow.users.get_by_id(user.id)
        assert current is not None
        current.deactivate(clock.now())
        await uow.users.update(current)
        await uow.commit()

    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.refresh_token)

    assert not stored_token(uow, issued.refresh_token).is_used


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param("", id="empty"),
        pytest.param("never-issued", id="unknown"),
        pytest.param("x" * 513, id="overlong"),
        pytest.param("x" * 1_000_000, id="megabyte"),
    ],
)
async def test_unknown_empty_or_overlong_tokens_fail(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    presented: str,
) -> None:
    await auth.login(seed())
    before = uow.commit_count

    with pytest.raises(InvalidCredentials):
        await auth.refresh(presented)

    assert uow.commit_count == before


async def test_an_access_token_is_not_a_refresh_token(auth: SessionFlows, seed: UserSeeder) -> None:
    issued = await auth.login(seed())

    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.access_token.value)


async def test_the_store_holds_digests_never_the_tokens(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
) -> None:
    first = await auth.login(seed())
    second = await auth.refresh(first.refresh_token)
    secrets = {first.refresh_token, second.refresh_token}

    rows: list[RefreshToken | Session] = [
        *uow.refresh_store.tokens.values(),
        *uow.session_store.sessions.values(),
    ]
    stored_values = [repr(row) for row in rows] + [
        str(getattr(row, f.name)) for row in rows for f in dataclasses.fields(row)
    ]
    assert all(secret not in value for secret in secrets for value in stored_values)
    assert {t.digest for t in uow.refresh_store.tokens.values()} == {
        SecretDigest.of(secret) for secret in secrets
    }
    assert all(secret not in repr(first) + repr(second) for secret in secrets)
