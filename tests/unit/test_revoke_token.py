from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from application.errors import InvalidCredentials, InvalidToken
from application.sessions import IssuedTokens
from application.use_cases.revoke_token import TokenTypeHint
from domain.sessions import Session, SessionId
from tests.fakes import FakeTokens, FakeUnitOfWork, FixedClock
from tests.unit.builders import SessionFlows, UserSeeder


def session_of(tokens: FakeTokens, uow: FakeUnitOfWork, issued: IssuedTokens) -> Session:
    session_id = tokens.claims_of(issued.access_token.value).session_id
    assert session_id is not None
    return uow.session_store.sessions[SessionId(session_id)]


def families_state(uow: FakeUnitOfWork) -> list[tuple[object, ...]]:
    return [dataclasses.astuple(f) for f in uow.session_store.sessions.values()]


async def test_revoking_a_refresh_token_ends_its_session(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    clock: FixedClock,
) -> None:
    issued = await auth.login(seed())
    await auth.resolve(issued.access_token.value)
    clock.advance(timedelta(minutes=1))

    await auth.revoke(issued.refresh_token, TokenTypeHint.REFRESH_TOKEN)

    assert session_of(tokens, uow, issued).ended_at == clock.now()
    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.refresh_token)
    with pytest.raises(InvalidToken):
        await auth.resolve(issued.access_token.value)


async def test_revoking_a_rotated_refresh_token_ends_the_session_of_its_successor(
    auth: SessionFlows, seed: UserSeeder
) -> None:
    first = await auth.login(seed())
    second = await auth.refresh(first.refresh_token)

    await auth.revoke(first.refresh_token)

    with pytest.raises(InvalidCredentials):
        await auth.refresh(second.refresh_token)
    with pytest.raises(InvalidToken):
        await auth.resolve(second.access_token.value)


@pytest.mark.parametrize(
    "hint",
    [
        pytest.param(TokenTypeHint.ACCESS_TOKEN, id="hint-access"),
        pytest.param(None, id="no-hint"),
        pytest.param(TokenTypeHint.REFRESH_TOKEN, id="wrong-hint"),
    ],
)
async def test_revoking_an_access_token_ends_its_session(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    hint: TokenTypeHint | None,
) -> None:
    issued = await auth.login(seed())

    await auth.revoke(issued.access_token.value, hint)

    assert session_of(tokens, uow, issued).is_ended
    with pytest.raises(InvalidToken):
        await auth.resolve(issued.access_token.value)
    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.refresh_token)


@pytest.mark.parametrize("hint", [TokenTypeHint.ACCESS_TOKEN, None])
async def test_a_refresh_token_is_revoked_whatever_the_hint(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    hint: TokenTypeHint | None,
) -> None:
    issued = await auth.login(seed())

    await auth.revoke(issued.refresh_token, hint)

    assert session_of(tokens, uow, issued).is_ended


async def test_revoking_one_session_leaves_the_others_alone(
    auth: SessionFlows, seed: UserSeeder
) -> None:
    user = seed()
    laptop = await auth.login(user)
    phone = await auth.login(user)
    someone_else = await auth.login(seed())

    await auth.revoke(laptop.refresh_token)

    for issued in (phone, someone_else):
        await auth.resolve(issued.access_token.value)
        await auth.refresh(issued.refresh_token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("fake-token-999", id="unknown-access-token"),
        pytest.param(
            "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL290aGVyIn0.c2ln", id="other-service"
        ),
        pytest.param("x" * 600, id="longer-than-a-refresh-token"),
        pytest.param("x" * 1_000_000, id="megabyte"),
    ],
)
@pytest.mark.parametrize("hint", [TokenTypeHint.ACCESS_TOKEN, TokenTypeHint.REFRESH_TOKEN, None])
async def test_unknown_tokens_are_ignored_without_a_word(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    token: str,
    hint: TokenTypeHint | None,
) -> None:
    await auth.login(seed())
    before, commits = families_state(uow), uow.commit_count

    await auth.revoke(token, hint)

    assert families_state(uow) == before
    assert uow.commit_count == commits


async def test_an_access_token_without_a_session_is_ignored(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork, tokens: FakeTokens
) -> None:
    user = seed()
    token = tokens.issue_for_claims(subject=user.id, role=user.role)

    await auth.revoke(token.value, TokenTypeHint.ACCESS_TOKEN)

    assert uow.commit_count == 0


async def test_an_expired_access_token_is_ignored(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    clock: FixedClock,
) -> None:
    issued = await auth.login(seed())
    clock.advance(timedelta(hours=1))

    await auth.revoke(issued.access_token.value)

    assert not session_of(tokens, uow, issued).is_ended


async def test_revoking_twice_is_fine_and_keeps_the_first_time(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    clock: FixedClock,
) -> None:
    issued = await auth.login(seed())
    revoked_at = clock.now()
    await auth.revoke(issued.refresh_token)
    clock.advance(timedelta(minutes=5))

    await auth.revoke(issued.refresh_token)
    await auth.revoke(issued.access_token.value)

    assert session_of(tokens, uow, issued).ended_at == revoked_at
