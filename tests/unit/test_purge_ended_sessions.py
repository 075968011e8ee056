from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import InvalidCredentials, InvalidToken
from application.use_cases.purge_ended_sessions import PurgeEndedSessions
from tests.fakes import FakeUnitOfWork, FixedClock
from tests.unit.builders import SessionFlows, UserSeeder
from tests.unit.conftest import SESSION_LIFETIME


@pytest.fixture
def purge(uow: FakeUnitOfWork, clock: FixedClock) -> PurgeEndedSessions:
    return PurgeEndedSessions(uow.factory, clock)


async def test_revoked_and_expired_sessions_go_and_live_ones_stay(
    purge: PurgeEndedSessions, auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed("ada@example.com")
    revoked = await auth.login(user)
    live = await auth.login(user)
    await auth.revoke(revoked.refresh_token)

    assert await purge.execute() == 1
    assert uow.committed

    live_session = (await auth.resolve(live.access_token.value)).session_id
    assert set(uow.session_store.sessions) == {live_session}
    assert {token.session_id for token in uow.refresh_store.tokens.values()} == {live_session}


async def test_sessions_past_their_absolute_lifetime_go(
    purge: PurgeEndedSessions,
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    await auth.login(seed("ada@example.com"))
    clock.advance(SESSION_LIFETIME - timedelta(seconds=1))
    assert await purge.execute() == 0

    clock.advance(timedelta(seconds=1))

    assert await purge.execute() == 1
    assert uow.session_store.sessions == {}
    assert uow.refresh_store.tokens == {}


async def test_tokens_of_a_purged_session_stay_refused(
    purge: PurgeEndedSessions, auth: SessionFlows, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")
    first = await auth.login(user)
    second = await auth.refresh(first.refresh_token)
    await auth.revoke(second.refresh_token)

    await purge.execute()

    with pytest.raises(InvalidToken):
        await auth.resolve(second.access_token.value)
    for spent_or_revoked in (first.refresh_token, second.refresh_token):
        with pytest.raises(InvalidCredentials):
            await auth.refresh(spent_or_revoked)
