"""Listing and ending login sessions, through the use cases on fakes."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidToken,
    SessionNotFound,
    UserNotFound,
)
from application.principal import AuthMethod, Principal
from application.request_context import RequestContext
from application.use_cases.end_all_sessions import EndAllSessions, EndAllSessionsCommand
from application.use_cases.end_session import EndSession, EndSessionCommand
from application.use_cases.list_sessions import ListSessions, ListSessionsQuery
from domain.sessions import SessionId
from domain.users import UserId
from tests.fakes import FakeTokens, FakeUnitOfWork, FixedClock
from tests.unit.builders import SessionFlows, UserSeeder
from tests.unit.conftest import SESSION_LIFETIME

LAPTOP = RequestContext(client_ip="203.0.113.7", user_agent="Firefox/133.0", request_id="r1")
PHONE = RequestContext(client_ip="2001:db8::42", user_agent="Safari/18.0", request_id="r2")


@pytest.fixture
def list_sessions(uow: FakeUnitOfWork, clock: FixedClock) -> ListSessions:
    return ListSessions(uow.factory, clock)


@pytest.fixture
def end_session(uow: FakeUnitOfWork, clock: FixedClock) -> EndSession:
    return EndSession(uow.factory, clock)


@pytest.fixture
def end_all(uow: FakeUnitOfWork, clock: FixedClock) -> EndAllSessions:
    return EndAllSessions(uow.factory, clock)


async def test_a_login_records_its_client_and_method(
    auth: SessionFlows, seed: UserSeeder, list_sessions: ListSessions, clock: FixedClock
) -> None:
    user = seed()
    issued = await auth.login(user, context=LAPTOP)
    principal = await auth.resolve(issued.access_token.value)

    listing = await list_sessions.execute(ListSessionsQuery(principal=principal))

    (session,) = listing.items
    assert (session.client_ip, session.user_agent, session.amr) == (
        "203.0.113.7",
        "Firefox/133.0",
        ("pwd",),
    )
    assert session.created_at == session.last_used_at == session.auth_time == clock.now()
    assert listing.current == session.id == principal.session_id


async def test_the_token_carries_the_session_login_time_and_method_across_refreshes(
    auth: SessionFlows, seed: UserSeeder, tokens: FakeTokens, clock: FixedClock, uow: FakeUnitOfWork
) -> None:
    issued = await auth.login(seed())
    login_time = clock.now()
    clock.advance(timedelta(hours=2))

    refreshed = await auth.refresh(issued.refresh_token)

    claims = tokens.verify_access_token(refreshed.access_token.value)
    assert claims.auth_time == login_time
    assert claims.amr == ("pwd",)
    assert claims.session_id is not None
    stored = uow.session_store.sessions[SessionId(claims.session_id)]
    assert stored.last_used_at == clock.now()
    assert stored.auth_time == login_time


async def test_the_listing_shows_only_active_sessions_newest_first(
    auth: SessionFlows,
    seed: UserSeeder,
    list_sessions: ListSessions,
    clock: FixedClock,
    tokens: FakeTokens,
) -> None:
    user = seed()
    await auth.login(user)
    clock.advance(timedelta(days=1))
    ended = await auth.login(user)
    clock.advance(timedelta(days=1))
    await auth.login(user, context=LAPTOP)
    clock.advance(timedelta(days=1))
    phone = await auth.login(user, context=PHONE)
    await auth.revoke(ended.refresh_token)
    clock.advance(SESSION_LIFETIME - timedelta(days=2))  # the first one has expired now
    phone_session = tokens.claims_of(phone.access_token.value).session_id
    principal = Principal(user=user, session_id=SessionId(phone_session) if phone_session else None)

    listing = await list_sessions.execute(ListSessionsQuery(principal=principal))

    assert [s.client_ip for s in listing.items] == ["2001:db8::42", "203.0.113.7"]
    assert listing.current == listing.items[0].id


async def test_ending_a_session_stops_its_tokens_but_not_the_others(
    auth: SessionFlows, seed: UserSeeder, end_session: EndSession
) -> None:
    user = seed()
    laptop = await auth.login(user, context=LAPTOP)
    phone = await auth.login(user, context=PHONE)
    me = await auth.resolve(laptop.access_token.value)
    phone_principal = await auth.resolve(phone.access_token.value)
    assert phone_principal.session_id is not None

    await end_session.execute(EndSessionCommand(me, phone_principal.session_id))

    with pytest.raises(InvalidToken):
        await auth.resolve(phone.access_token.value)
    with pytest.raises(InvalidCredentials):
        await auth.refresh(phone.refresh_token)
    assert (await auth.resolve(laptop.access_token.value)).user == user
    await auth.refresh(laptop.refresh_token)


async def test_another_users_or_an_unknown_or_an_ended_session_is_not_found(
    auth: SessionFlows, seed: UserSeeder, end_session: EndSession
) -> None:
    ada, bob = seed(), seed()
    ada_login = await auth.login(ada)
    bob_login = await auth.login(bob)
    ada_principal = await auth.resolve(ada_login.access_token.value)
    bob_session = (await auth.resolve(bob_login.access_token.value)).session_id
    assert bob_session is not None
    assert ada_principal.session_id is not None

    for session_id in (bob_session, SessionId(UUID(int=999_999))):
        with pytest.raises(SessionNotFound):
            await end_session.execute(EndSessionCommand(ada_principal, session_id))
    await end_session.execute(EndSessionCommand(ada_principal, ada_principal.session_id))
    with pytest.raises(SessionNotFound):
        await end_session.execute(EndSessionCommand(ada_principal, ada_principal.session_id))

    # Bob's session survived Ada's attempt.
    assert (await auth.resolve(bob_login.access_token.value)).user == bob


async def test_ending_every_session_includes_the_callers_own(
    auth: SessionFlows, seed: UserSeeder, end_all: EndAllSessions
) -> None:
    user, other = seed(), seed()
    first = await auth.login(user)
    second = await auth.login(user)
    theirs = await auth.login(other)
    me = await auth.resolve(first.access_token.value)

    ended = await end_all.execute(EndAllSessionsCommand(principal=me))

    assert ended == 2
    for issued in (first, second):
        with pytest.raises(InvalidToken):
            await auth.resolve(issued.access_token.value)
        with pytest.raises(InvalidCredentials):
            await auth.refresh(issued.refresh_token)
    assert (await auth.resolve(theirs.access_token.value)).user == other


async def test_an_admin_lists_and_ends_another_users_sessions(
    auth: SessionFlows,
    seed: UserSeeder,
    list_sessions: ListSessions,
    end_all: EndAllSessions,
) -> None:
    admin, user = seed.admin(), seed()
    admin_principal = await auth.resolve((await auth.login(admin)).access_token.value)
    issued = await auth.login(user, context=PHONE)

    listing = await list_sessions.execute(ListSessionsQuery(admin_principal, user.id))
    await end_all.execute(EndAllSessionsCommand(admin_principal, user.id))

    assert [s.user_agent for s in listing.items] == ["Safari/18.0"]
    assert listing.items[0].id != listing.current
    with pytest.raises(InvalidToken):
        await auth.resolve(issued.access_token.value)
    assert (await list_sessions.execute(ListSessionsQuery(admin_principal, user.id))).items == []


async def test_admin_session_routes_need_an_admin_and_an_existing_user(
    auth: SessionFlows,
    seed: UserSeeder,
    list_sessions: ListSessions,
    end_all: EndAllSessions,
) -> None:
    ada, bob, admin = seed(), seed(), seed.admin()
    ada_principal = await auth.resolve((await auth.login(ada)).access_token.value)
    admin_principal = await auth.resolve((await auth.login(admin)).access_token.value)
    nobody = UserId(UUID(int=404))

    with pytest.raises(Forbidden):
        await list_sessions.execute(ListSessionsQuery(ada_principal, bob.id))
    with pytest.raises(Forbidden):
        await end_all.execute(EndAllSessionsCommand(ada_principal, bob.id))
    with pytest.raises(UserNotFound):
        await list_sessions.execute(ListSessionsQuery(admin_principal, nobody))
    with pytest.raises(UserNotFound):
        await end_all.execute(EndAllSessionsCommand(admin_principal, nobody))


async def test_an_api_key_cannot_see_or_end_sessions(
    seed: UserSeeder,
    list_sessions: ListSessions,
    end_session: EndSession,
    end_all: EndAllSessions,
) -> None:
    key_principal = Principal(user=seed(), method=AuthMethod.API_KEY, api_key_id=UUID(int=5))

    with pytest.raises(Forbidden):
        await list_sessions.execute(ListSessionsQuery(key_principal))
    with pytest.raises(Forbidden):
        await end_session.execute(EndSessionCommand(key_principal, SessionId(UUID(int=1))))
    with pytest.raises(Forbidden):
        await end_all.execute(EndAllSessionsCommand(key_principal))
