"""RFC 7662 introspection through fakes: each kind of credential, live and no longer usable."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.use_cases.introspect_token import (
    INACTIVE,
    IntrospectedType,
    IntrospectToken,
    IntrospectTokenCommand,
)
from domain.clients import Client, ClientId, ClientName, Scope
from domain.credentials import ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.users import User
from tests.fakes import FakeTokens, FakeUnitOfWork, FixedClock
from tests.unit.builders import SessionFlows, UserSeeder

ISSUER = "https://accounts.example"
AUDIENCE = "accounts-api"
KEY = ParsedApiKey.compose("abcdefgh23", "S3cret-with_all-the-URL-safe-chars-0123456789")


@pytest.fixture
def introspect(uow: FakeUnitOfWork, tokens: FakeTokens, clock: FixedClock) -> IntrospectToken:
    return IntrospectToken(
        uow.factory, uow.reader, tokens, tokens, clock, issuer=ISSUER, audience=AUDIENCE
    )


async def ask(
    introspect: IntrospectToken, token: str, hint: IntrospectedType | None = None
) -> object:
    return await introspect.execute(IntrospectTokenCommand(token=token, hint=hint))


async def deactivate(uow: FakeUnitOfWork, user: User, clock: FixedClock) -> None:
    """Only the account's flag: its sessions and keys stay, as a race could leave them."""
    async with uow:
        current = await uow.users.get_by_id(user.id)
        assert current is not None
        current.deactivate(clock.now())
        await uow.users.update(current)
        await uow.commit()


async def test_a_users_access_and_refresh_tokens_are_active_with_their_owner(
    introspect: IntrospectToken, auth: SessionFlows, seed: UserSeeder
) -> None:
    ada = seed("ada@example.com")
    issued = await auth.login(ada)

    access = await introspect.execute(IntrospectTokenCommand(issued.access_token.value))
    refresh = await introspect.execute(
        IntrospectTokenCommand(issued.refresh_token, IntrospectedType.REFRESH_TOKEN)
    )

    assert access.active
    assert refresh.active
    assert (access.token_type, refresh.token_type) == (
        IntrospectedType.ACCESS_TOKEN,
        IntrospectedType.REFRESH_TOKEN,
    )
    assert access.subject == refresh.subject == str(ada.id)
    assert access.username == "ada@example.com"
    assert (access.issuer, access.audience) == (ISSUER, AUDIENCE)
    assert access.expires_at == issued.access_token.expires_at
    assert refresh.expires_at == issued.refresh_expires_at
    assert access.client_id is None
    assert access.scopes is None


async def test_revoking_ends_both_tokens_at_once(
    introspect: IntrospectToken, auth: SessionFlows, seed: UserSeeder
) -> None:
    issued = await auth.login(seed("ada@example.com"))

    await auth.revoke(issued.refresh_token)

    assert await ask(introspect, issued.access_token.value) == INACTIVE
    assert await ask(introspect, issued.refresh_token) == INACTIVE


async def test_a_spent_or_expired_refresh_token_is_inactive(
    introspect: IntrospectToken, auth: SessionFlows, seed: UserSeeder, clock: FixedClock
) -> None:
    issued = await auth.login(seed("ada@example.com"))
    rotated = await auth.refresh(issued.refresh_token)

    assert await ask(introspect, issued.refresh_token) == INACTIVE
    clock.advance(timedelta(days=31))
    assert await ask(introspect, rotated.refresh_token) == INACTIVE
    assert await ask(introspect, rotated.access_token.value) == INACTIVE


async def test_deactivation_makes_every_credential_of_the_account_inactive(
    introspect: IntrospectToken,
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    ada = seed("ada@example.com")
    issued = await auth.login(ada)
    key = ApiKey.create(
        key_id=ApiKeyId(UUID(int=7)),
        user_id=ada.id,
        name=ApiKeyName("ci"),
        key=KEY,
        now=clock.now(),
        expires_at=None,
    )
    await uow.api_key_store.add(key)
    live = await introspect.execute(IntrospectTokenCommand(KEY))
    assert live.active
    assert live.token_type is IntrospectedType.API_KEY
    assert (live.subject, live.expires_at) == (str(ada.id), None)

    await deactivate(uow, ada, clock)

    for token in (issued.access_token.value, issued.refresh_token, KEY):
        assert await ask(introspect, token) == INACTIVE


async def test_an_expired_or_wrong_api_key_is_inactive(
    introspect: IntrospectToken, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    ada = seed("ada@example.com")
    await uow.api_key_store.add(
        ApiKey.create(
            key_id=ApiKeyId(UUID(int=7)),
            user_id=ada.id,
            name=ApiKeyName("ci"),
            key=KEY,
            now=clock.now(),
            expires_at=clock.now() + timedelta(days=1),
        )
    )

    assert await ask(introspect, KEY[:-1] + "X") == INACTIVE
    clock.advance(timedelta(days=1))
    assert await ask(introspect, KEY, IntrospectedType.API_KEY) == INACTIVE


async def test_a_clients_token_is_active_while_the_client_exists(
    introspect: IntrospectToken, tokens: FakeTokens, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    client = Client.register(
        client_id=ClientId("cli_aaaaaaaaaaaaaaaa"),
        name=ClientName("billing"),
        scopes=[Scope.USERS_READ],
        secret="s" * 43,
        now=clock.now(),
    )
    await uow.client_store.add(client)
    token = await tokens.issue_client_token(client.id, frozenset({Scope.USERS_READ}), clock.now())

    active = await introspect.execute(IntrospectTokenCommand(token.value))
    await uow.client_store.delete(client.id)
    after = await ask(introspect, token.value)

    assert active.active
    assert active.subject == active.client_id == client.id
    assert active.scopes == {Scope.USERS_READ}
    assert active.username is None
    assert after == INACTIVE


@pytest.mark.parametrize("token", ["", "garbage", "x" * 10_000])
async def test_anything_else_is_inactive(introspect: IntrospectToken, token: str) -> None:
    assert await ask(introspect, token) == INACTIVE
