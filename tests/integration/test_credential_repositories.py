"""Login sessions, refresh tokens, API keys and external links against real databases.

Like the user repository tests, every test runs on PostgreSQL and on a SQLite file.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from application.errors import ExternalIdentityTaken, InvalidCredentials
from application.sessions import SessionIssuer
from application.use_cases.refresh_access_token import RefreshAccessToken, RefreshGrantCommand
from domain.credentials import (
    ApiKey,
    ApiKeyId,
    ApiKeyName,
    OneTimeToken,
    OneTimeTokenId,
    ParsedApiKey,
    SecretDigest,
    TokenPurpose,
)
from domain.sessions import SessionId
from domain.users import UserId
from tests.fakes import FixedClock, audit_events
from tests.integration.conftest import per_database_backend
from tests.integration.stored import NOW, UowFactory, a_session, a_user, session_issuer


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides the conftest fixture: each test here runs once per supported database."""
    return per_database_backend(request, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sessions(clock: FixedClock) -> SessionIssuer:
    return session_issuer(clock)


async def test_a_password_less_user_reads_back(uow_factory: UowFactory) -> None:
    user = await a_user(uow_factory)

    async with uow_factory() as uow:
        loaded = await uow.users.get_by_id(user.id)

    assert loaded is not None
    assert loaded.password_hash is None


async def test_sessions_and_tokens_read_back_by_digest(
    uow_factory: UowFactory, sessions: SessionIssuer
) -> None:
    user = await a_user(uow_factory)
    _, secret = await a_session(uow_factory, sessions, user)

    async with uow_factory() as uow:
        token = await uow.refresh_tokens.get_by_digest(SecretDigest.of(secret), for_update=True)
        assert token is not None
        family = await uow.sessions.get(token.session_id, for_update=True)

    assert family is not None
    assert (token.user_id, family.user_id) == (user.id, user.id)
    assert token.issued_at == NOW
    assert token.expires_at == NOW + timedelta(days=30)
    assert family.expires_at == NOW + timedelta(days=90)
    assert token.used_at is None
    assert not family.is_ended


async def test_end_all_of_ends_only_that_users_live_sessions(
    uow_factory: UowFactory, sessions: SessionIssuer
) -> None:
    ada, bob = await a_user(uow_factory, 1), await a_user(uow_factory, 2)
    for user in (ada, ada, bob):
        await a_session(uow_factory, sessions, user)

    async with uow_factory() as uow:
        revoked = await uow.sessions.end_all_of(ada.id, NOW)
        again = await uow.sessions.end_all_of(ada.id, NOW)
        await uow.commit()

    assert (revoked, again) == (2, 0)


@pytest.mark.parametrize("contenders", [2, 8])
async def test_concurrent_refreshes_of_one_token_let_exactly_one_through(
    uow_factory: UowFactory, sessions: SessionIssuer, clock: FixedClock, contenders: int
) -> None:
    user = await a_user(uow_factory)
    _, secret = await a_session(uow_factory, sessions, user)
    refresh = RefreshAccessToken(uow_factory, sessions, clock, audit_events())

    outcomes = await asyncio.gather(
        *(refresh.execute(RefreshGrantCommand(secret)) for _ in range(contenders)),
        return_exceptions=True,
    )

    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, InvalidCredentials) for o in outcomes if o not in winners)
    # The losers saw a spent token, which is what theft looks like: the session is over.
    with pytest.raises(InvalidCredentials):
        await refresh.execute(RefreshGrantCommand(winners[0].refresh_token))


async def test_api_keys_round_trip(uow_factory: UowFactory) -> None:
    user = await a_user(uow_factory)
    secret = "s" * 43
    key = ParsedApiKey.compose("abcdefghij", secret)
    api_key = ApiKey.create(
        key_id=ApiKeyId(UUID(int=7)),
        user_id=user.id,
        name=ApiKeyName("bot"),
        key=key,
        now=NOW,
        expires_at=NOW + timedelta(days=1),
    )
    async with uow_factory() as uow:
        await uow.api_keys.add(api_key)
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.api_keys.get(api_key.id)
        assert found is not None
        found.record_use(NOW + timedelta(minutes=5))
        await uow.api_keys.record_use(found)
        await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.api_keys.list_page(user.id, limit=10)
        counted = await uow.api_keys.count_for(user.id)
        await uow.api_keys.delete(api_key.id)
        await uow.commit()
    async with uow_factory() as uow:
        gone = await uow.api_keys.get(api_key.id)
        counted_after = await uow.api_keys.count_for(user.id)

    parsed = ParsedApiKey.parse(key)
    assert parsed is not None
    assert [k.id for k in listed] == [api_key.id]
    assert listed[0].accepts(parsed, NOW)
    assert listed[0].last_used_at == NOW + timedelta(minutes=5)
    assert listed[0].expires_at == NOW + timedelta(days=1)
    assert (counted, counted_after) == (1, 0)
    assert gone is None


async def test_an_external_identity_links_once(uow_factory: UowFactory) -> None:
    ada, bob = await a_user(uow_factory, 1), await a_user(uow_factory, 2)
    async with uow_factory() as uow:
        await uow.external_identities.link("https://idp", "sub-1", ada.id, NOW)
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(ExternalIdentityTaken):
            await uow.external_identities.link("https://idp", "sub-1", bob.id, NOW)
    async with uow_factory() as uow:
        found = await uow.external_identities.find_user_id("https://idp", "sub-1")
        other = await uow.external_identities.find_user_id("https://other", "sub-1")

    assert (found, other) == (ada.id, None)


async def test_get_session_of_an_unknown_id_is_none(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.sessions.get(SessionId(UUID(int=9))) is None
        assert await uow.refresh_tokens.get_by_digest(SecretDigest.of("nope")) is None


async def test_purge_deletes_ended_sessions_with_their_tokens_and_keeps_live_ones(
    uow_factory: UowFactory, sessions: SessionIssuer
) -> None:
    user = await a_user(uow_factory)
    _, live = await a_session(uow_factory, sessions, user)
    _, revoked = await a_session(uow_factory, sessions, user)
    _, expired = await a_session(uow_factory, sessions, user, started=NOW - timedelta(days=91))
    async with uow_factory() as uow:
        token = await uow.refresh_tokens.get_by_digest(SecretDigest.of(revoked))
        assert token is not None
        family = await uow.sessions.get(token.session_id, for_update=True)
        assert family is not None
        family.end(NOW)
        await uow.sessions.update(family)
        await uow.commit()

    async with uow_factory() as uow:
        purged = await uow.sessions.purge_ended(NOW)
        await uow.commit()
    async with uow_factory() as uow:
        remaining = {
            name: await uow.refresh_tokens.get_by_digest(SecretDigest.of(secret))
            for name, secret in (("live", live), ("revoked", revoked), ("expired", expired))
        }

    assert purged == 2
    assert {name for name, token in remaining.items() if token is not None} == {"live"}


async def test_a_session_reads_back_field_for_field_and_records_its_use(
    uow_factory: UowFactory, sessions: SessionIssuer
) -> None:
    user = await a_user(uow_factory)
    stored, _ = await a_session(uow_factory, sessions, user)
    later = NOW + timedelta(hours=3)

    async with uow_factory() as uow:
        session = await uow.sessions.get(stored.id, for_update=True)
        assert session is not None
        session.touch(later)
        session.end(later + timedelta(seconds=1))
        await uow.sessions.update(session)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.sessions.get(stored.id)

    assert loaded is not None
    assert (loaded.user_id, loaded.created_at, loaded.expires_at) == (
        user.id,
        NOW,
        NOW + timedelta(days=90),
    )
    assert (loaded.auth_time, loaded.amr) == (NOW, ("pwd",))
    assert (loaded.client_ip, loaded.user_agent) == ("192.0.2.7", "stored/1.0")
    assert loaded.last_used_at == later
    assert loaded.ended_at == later + timedelta(seconds=1)


async def test_list_for_gives_newest_first_and_only_usable_ones_when_asked(
    uow_factory: UowFactory, sessions: SessionIssuer
) -> None:
    ada, bob = await a_user(uow_factory, 1), await a_user(uow_factory, 2)
    expired, _ = await a_session(uow_factory, sessions, ada, NOW - timedelta(days=91))
    ended, _ = await a_session(uow_factory, sessions, ada, NOW - timedelta(days=2))
    live, _ = await a_session(uow_factory, sessions, ada, NOW - timedelta(days=1))
    await a_session(uow_factory, sessions, bob)
    async with uow_factory() as uow:
        stored = await uow.sessions.get(ended.id)
        assert stored is not None
        stored.end(NOW)
        await uow.sessions.update(stored)
        await uow.commit()

    async with uow_factory() as uow:
        everything = await uow.sessions.list_for(ada.id)
        usable = await uow.sessions.list_for(ada.id, usable_at=NOW)

    assert [s.id for s in everything] == [live.id, ended.id, expired.id]
    assert [s.id for s in usable] == [live.id]


async def test_deleting_a_user_removes_everything_attached_and_frees_the_email(
    uow_factory: UowFactory, sessions: SessionIssuer
) -> None:
    ada, bob = await a_user(uow_factory, 1), await a_user(uow_factory, 2)
    for user in (ada, bob):
        await a_session(uow_factory, sessions, user)
        async with uow_factory() as uow:
            await uow.api_keys.add(_key_of(user.id, f"acc_{user.id.int:08d}"))
            await uow.external_identities.link("https://idp.example", str(user.id), user.id, NOW)
            await uow.commit()

    async with uow_factory() as uow:
        await uow.users.delete(ada.id)
        await uow.commit()
    again = await a_user(uow_factory, 1)

    async with uow_factory() as uow:
        assert await uow.sessions.list_for(ada.id) == []
        assert await uow.api_keys.count_for(ada.id) == 0
        assert await uow.external_identities.list_for(ada.id) == []
        assert len(await uow.sessions.list_for(bob.id)) == 1
        assert await uow.api_keys.count_for(bob.id) == 1
        links = await uow.external_identities.list_for(bob.id)
    assert [(link.subject, link.created_at) for link in links] == [(str(bob.id), NOW)]
    assert again.email == ada.email


def _key_of(user_id: UserId, name: str) -> ApiKey:
    return ApiKey.create(
        key_id=ApiKeyId(UUID(int=user_id.int + 1000)),
        user_id=user_id,
        name=ApiKeyName(name),
        key=ParsedApiKey.compose("abcdefghi" + "abcdefgh"[user_id.int % 8], "s" * 43),
        now=NOW,
        expires_at=None,
    )


async def test_one_time_tokens_are_found_by_digest_replaced_and_rehearsed(
    uow_factory: UowFactory,
) -> None:
    user = await a_user(uow_factory, 4242)
    token = OneTimeToken.issue(
        user,
        TokenPurpose.PASSWORD_RESET,
        token_id=OneTimeTokenId(uuid4()),
        digest=SecretDigest.of("one-time"),
        now=NOW,
        lifetime=timedelta(minutes=30),
    )
    async with uow_factory() as uow:
        await uow.one_time_tokens.add(token)
        await uow.one_time_tokens.rehearse_add(
            dataclasses.replace(token, id=OneTimeTokenId(uuid4()), user_id=UserId(uuid4()))
        )
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.one_time_tokens.get_by_digest(
            SecretDigest.of("one-time"), for_update=True
        )
        assert found is not None
        assert (found.id, found.user_id, found.purpose, found.email) == (
            token.id,
            user.id,
            TokenPurpose.PASSWORD_RESET,
            user.email,
        )
        assert found.expires_at == token.expires_at
        found.redeem(user, frozenset({TokenPurpose.PASSWORD_RESET}), NOW)
        await uow.one_time_tokens.update(found)
        await uow.commit()

    async with uow_factory() as uow:
        spent = await uow.one_time_tokens.get_by_digest(SecretDigest.of("one-time"))
        assert spent is not None
        assert spent.used_at == NOW
        assert await uow.one_time_tokens.delete_for(user.id, TokenPurpose.VERIFY_EMAIL) == 0
        assert await uow.one_time_tokens.delete_for(user.id, TokenPurpose.PASSWORD_RESET) == 1
        await uow.commit()
