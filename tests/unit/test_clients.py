"""Clients (service accounts): registration, client credentials, their principal, scopes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import (
    ClientNotFound,
    Forbidden,
    InsufficientScope,
    InvalidClient,
    InvalidToken,
)
from application.principal import (
    AuthMethod,
    ClientPrincipal,
    Principal,
    ensure_can_read_users,
    ensure_can_write_users,
    refuse_clients,
)
from application.rate_limiting import Operation, operation_for
from application.use_cases.client_credentials import (
    AuthenticateClient,
    ClientCredentials,
    ClientCredentialsGrantCommand,
    IssueClientToken,
    ResolveClientPrincipal,
)
from application.use_cases.get_user import GetUser, GetUserQuery
from application.use_cases.manage_clients import (
    CreateClient,
    CreateClientCommand,
    CreatedClient,
    DeleteClient,
    DeleteClientCommand,
    ListClients,
)
from application.use_cases.update_user import UpdateUser, UpdateUserCommand
from domain.audit import AuditEventType
from domain.clients import Client, ClientId, ClientName, Scope, is_client_id
from domain.errors import InvalidClientName, ScopeNotGranted
from domain.users import User
from tests.fakes import FakeTokens, FakeUnitOfWork, FixedClock, SequentialSecrets, audit_events
from tests.unit.builders import UserSeeder


@pytest.fixture
def admin(seed: UserSeeder) -> Principal:
    return Principal(user=seed.admin("root@example.com"))


@pytest.fixture
def create(uow: FakeUnitOfWork, clock: FixedClock, secrets: SequentialSecrets) -> CreateClient:
    return CreateClient(uow.factory, clock, secrets, audit_events())


@pytest.fixture
def issue(uow: FakeUnitOfWork, tokens: FakeTokens, clock: FixedClock) -> IssueClientToken:
    return IssueClientToken(AuthenticateClient(uow.reader), tokens, clock)


async def register(
    create: CreateClient, admin: Principal, *scopes: Scope, name: str = "billing"
) -> CreatedClient:
    return await create.execute(CreateClientCommand(principal=admin, name=name, scopes=scopes))


def credentials(created: CreatedClient, secret: str | None = None) -> ClientCredentials:
    return ClientCredentials(created.client.id, created.secret if secret is None else secret)


async def test_registration_keeps_only_the_digest_and_records_the_event(
    create: CreateClient, admin: Principal, uow: FakeUnitOfWork
) -> None:
    created = await register(create, admin, Scope.USERS_READ, name="  billing  ")

    stored = await uow.clients.get(created.client.id)
    assert stored is not None
    assert is_client_id(stored.id)
    assert stored.name.value == "billing"
    assert stored.scopes == {Scope.USERS_READ}
    assert created.secret not in repr(stored)
    assert stored.digest.matches(created.secret)
    [event] = uow.audit.of_type(AuditEventType.CLIENT_CREATED)
    assert (event.actor_id, event.subject_id) == (admin.user.id, None)
    assert event.details["client_id"] == stored.id
    assert created.secret not in str(event.details)


async def test_only_an_admins_bearer_token_manages_clients(
    create: CreateClient, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = Principal(user=seed("ada@example.com"))
    key = Principal(user=seed.admin(), method=AuthMethod.API_KEY)

    with pytest.raises(Forbidden):
        await register(create, user, Scope.USERS_READ)
    with pytest.raises(Forbidden):
        await register(create, key, Scope.USERS_READ)
    with pytest.raises(Forbidden):
        await ListClients(uow.factory).execute(user)
    assert await uow.clients.list_all() == []


async def test_a_blank_name_is_refused(create: CreateClient, admin: Principal) -> None:
    with pytest.raises(InvalidClientName):
        await register(create, admin, Scope.USERS_READ, name="   ")


async def test_deleting_a_client_records_it_and_an_unknown_id_is_not_found(
    create: CreateClient, admin: Principal, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    created = await register(create, admin, Scope.USERS_READ)
    delete = DeleteClient(uow.factory, clock, audit_events())

    await delete.execute(DeleteClientCommand(principal=admin, client_id=created.client.id))

    assert await uow.clients.get(created.client.id) is None
    [event] = uow.audit.of_type(AuditEventType.CLIENT_DELETED)
    assert event.details == {"client_id": created.client.id}
    with pytest.raises(ClientNotFound):
        await delete.execute(DeleteClientCommand(principal=admin, client_id=created.client.id))


async def test_the_grant_gives_every_scope_by_default_or_the_subset_asked_for(
    create: CreateClient, admin: Principal, issue: IssueClientToken, tokens: FakeTokens
) -> None:
    created = await register(create, admin, Scope.USERS_READ, Scope.USERS_WRITE)

    everything = await issue.execute(ClientCredentialsGrantCommand(credentials(created)))
    subset = await issue.execute(
        ClientCredentialsGrantCommand(credentials(created), scope="users:read")
    )

    assert everything.scopes == {Scope.USERS_READ, Scope.USERS_WRITE}
    assert subset.scopes == {Scope.USERS_READ}
    claims = tokens.client_claims_of(subset.access_token.value)
    assert (claims.client_id, claims.scopes) == (created.client.id, {Scope.USERS_READ})


async def test_users_write_implies_users_read_when_asked_for(
    create: CreateClient, admin: Principal, issue: IssueClientToken
) -> None:
    created = await register(create, admin, Scope.USERS_WRITE)

    issued = await issue.execute(
        ClientCredentialsGrantCommand(credentials(created), scope="users:read")
    )

    assert issued.scopes == {Scope.USERS_READ}


@pytest.mark.parametrize("scope", ["users:write", "users:read admin", "", "users:read  "])
async def test_a_scope_beyond_the_clients_or_unknown_is_refused(
    create: CreateClient, admin: Principal, issue: IssueClientToken, scope: str
) -> None:
    created = await register(create, admin, Scope.USERS_READ)

    with pytest.raises(ScopeNotGranted):
        await issue.execute(ClientCredentialsGrantCommand(credentials(created), scope=scope))


@pytest.mark.parametrize(
    "client_id", ["cli_aaaaaaaaaaaaaaaa", "not-a-client-id", "", "cli_" + "a" * 500]
)
async def test_unknown_clients_and_wrong_secrets_get_one_answer(
    create: CreateClient, admin: Principal, issue: IssueClientToken, client_id: str
) -> None:
    created = await register(create, admin, Scope.USERS_READ)

    with pytest.raises(InvalidClient) as unknown:
        await issue.execute(
            ClientCredentialsGrantCommand(ClientCredentials(client_id, created.secret))
        )
    with pytest.raises(InvalidClient) as wrong:
        await issue.execute(ClientCredentialsGrantCommand(credentials(created, "wrong")))

    assert str(unknown.value) == str(wrong.value)


async def test_a_clients_token_resolves_to_its_principal_until_the_client_is_deleted(
    *,
    create: CreateClient,
    admin: Principal,
    issue: IssueClientToken,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    clock: FixedClock,
) -> None:
    created = await register(create, admin, Scope.USERS_READ)
    token = (await issue.execute(ClientCredentialsGrantCommand(credentials(created)))).access_token
    resolve = ResolveClientPrincipal(uow.reader, tokens)

    assert resolve.accepts(token.value)
    principal = await resolve.execute(token.value)
    assert principal == ClientPrincipal(created.client.id, frozenset({Scope.USERS_READ}))

    await DeleteClient(uow.factory, clock, audit_events()).execute(
        DeleteClientCommand(principal=admin, client_id=created.client.id)
    )
    with pytest.raises(InvalidToken):
        await resolve.execute(token.value)


async def test_an_expired_client_token_is_refused(
    *,
    create: CreateClient,
    admin: Principal,
    issue: IssueClientToken,
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    clock: FixedClock,
) -> None:
    created = await register(create, admin, Scope.USERS_READ)
    token = (await issue.execute(ClientCredentialsGrantCommand(credentials(created)))).access_token
    clock.advance(timedelta(minutes=15))

    with pytest.raises(InvalidToken):
        await ResolveClientPrincipal(uow.reader, tokens).execute(token.value)


def test_scopes_decide_what_a_client_principal_may_do() -> None:
    reader = ClientPrincipal(ClientId("cli_aaaaaaaaaaaaaaaa"), frozenset({Scope.USERS_READ}))
    writer = ClientPrincipal(ClientId("cli_bbbbbbbbbbbbbbbb"), frozenset({Scope.USERS_WRITE}))

    ensure_can_read_users(reader)
    ensure_can_read_users(writer)
    ensure_can_write_users(writer)
    with pytest.raises(InsufficientScope) as refused:
        ensure_can_write_users(reader)
    assert refused.value.scope == "users:write"
    with pytest.raises(InsufficientScope) as elsewhere:
        refuse_clients(writer)
    assert elsewhere.value.scope is None
    assert operation_for(reader) is Operation.CLIENT_REQUEST


async def test_a_writer_client_updates_a_user_and_is_the_events_actor(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    seed.admin()
    ada: User = seed("ada@example.com")
    writer = ClientPrincipal(ClientId("cli_bbbbbbbbbbbbbbbb"), frozenset({Scope.USERS_WRITE}))
    reader = ClientPrincipal(ClientId("cli_aaaaaaaaaaaaaaaa"), frozenset({Scope.USERS_READ}))
    update = UpdateUser(uow.factory, clock, audit_events())

    updated = await update.execute(
        UpdateUserCommand(principal=writer, user_id=ada.id, full_name="Ada L.", is_active=False)
    )
    with pytest.raises(InsufficientScope):
        await update.execute(UpdateUserCommand(principal=reader, user_id=ada.id, full_name="X"))
    read = await GetUser(uow.factory).execute(GetUserQuery(principal=reader, user_id=ada.id))

    assert (updated.full_name.value, updated.is_active) == ("Ada L.", False)
    assert read.full_name.value == "Ada L."
    [event] = uow.audit.of_type(AuditEventType.USER_UPDATED)
    assert (event.actor_id, event.subject_id) == (writer.client_id, ada.id)


def test_a_client_checks_its_secret_and_needs_a_scope(clock: FixedClock) -> None:
    client = Client.register(
        client_id=ClientId("cli_aaaaaaaaaaaaaaaa"),
        name=ClientName("billing"),
        scopes=[Scope.USERS_READ],
        secret="s" * 43,
        now=clock.now(),
    )

    assert client.authenticates("s" * 43)
    assert not client.authenticates("s" * 42)
    with pytest.raises(ValueError, match="scope"):
        Client.register(
            client_id=ClientId("cli_aaaaaaaaaaaaaaaa"),
            name=ClientName("billing"),
            scopes=[],
            secret="s" * 43,
            now=clock.now(),
        )
