from __future__ import annotations

import dataclasses
from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import (
    AccountDisabled,
    ApiKeyLimitReached,
    ApiKeyNotFound,
    Forbidden,
    InvalidCursor,
    InvalidPageSize,
    InvalidToken,
)
from application.principal import AuthMethod, Principal
from application.use_cases.create_api_key import (
    CreateApiKey,
    CreateApiKeyCommand,
    CreatedApiKey,
)
from application.use_cases.delete_api_key import DeleteApiKey, DeleteApiKeyCommand
from application.use_cases.list_api_keys import ListApiKeys, ListApiKeysQuery
from application.use_cases.list_users import ListUsers, ListUsersQuery
from application.use_cases.resolve_api_key_principal import ResolveApiKeyPrincipal
from domain.credentials import ApiKeyId, ApiKeyName, ParsedApiKey, SecretDigest
from domain.errors import InvalidApiKeyName, InvalidExpiry
from domain.users import Role, User
from tests.fakes import FakeUnitOfWork, FixedClock, SequentialIds, SequentialSecrets, audit_events
from tests.unit.builders import UserSeeder

KEYS_PER_USER = 3


@pytest.fixture
def create(
    uow: FakeUnitOfWork, clock: FixedClock, ids: SequentialIds, secrets: SequentialSecrets
) -> CreateApiKey:
    return CreateApiKey(
        uow.factory, clock, ids, secrets, audit_events(), keys_per_user=KEYS_PER_USER
    )


@pytest.fixture
def list_keys(uow: FakeUnitOfWork) -> ListApiKeys:
    return ListApiKeys(uow.factory)


@pytest.fixture
def delete(uow: FakeUnitOfWork) -> DeleteApiKey:
    return DeleteApiKey(uow.factory, FixedClock(), audit_events())


@pytest.fixture
def resolve(uow: FakeUnitOfWork, clock: FixedClock) -> ResolveApiKeyPrincipal:
    return ResolveApiKeyPrincipal(uow.reader, uow.factory, clock)


def api_key_principal(user: User) -> Principal:
    return Principal(user, method=AuthMethod.API_KEY, api_key_id=UUID(int=77))


async def new_key(create: CreateApiKey, user: User, name: str = "ci") -> CreatedApiKey:
    return await create.execute(CreateApiKeyCommand(Principal(user), name))


async def deactivate(uow: FakeUnitOfWork, user: User, clock: FixedClock) -> None:
    async with uow:
        current = await uow.users.get_by_id(user.id)
        assert current is not None
        current.deactivate(clock.now())
        await uow.users.update(current)
        await uow.commit()


async def test_created_key_starts_with_its_prefix_and_is_stored_as_a_digest(
    create: CreateApiKey, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = seed()
    expires_at = clock.now() + timedelta(days=30)

    created = await create.execute(
        CreateApiKeyCommand(Principal(user), "  deploy bot ", expires_at=expires_at)
    )

    api_key = created.api_key
    assert created.key.startswith(api_key.prefix)
    assert len(api_key.prefix) >= 8
    assert ParsedApiKey.parse(created.key) is not None
    assert api_key.name == ApiKeyName("deploy bot")
    assert api_key.user_id == user.id
    assert api_key.created_at == clock.now()
    assert api_key.expires_at == expires_at
    assert created.key not in repr(created)
    stored = uow.api_key_store.keys[api_key.id]
    assert stored.digest == SecretDigest.of(created.key)
    fields = [str(getattr(stored, f.name)) for f in dataclasses.fields(stored)]
    assert all(created.key not in value for value in fields)
    assert created.key not in repr(stored)


async def test_each_key_is_different(create: CreateApiKey, seed: UserSeeder) -> None:
    user = seed()

    first = await new_key(create, user)
    second = await new_key(create, user)

    assert first.key != second.key
    assert first.api_key.prefix != second.api_key.prefix


async def test_a_bad_name_or_past_expiry_creates_nothing(
    create: CreateApiKey, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = seed()

    with pytest.raises(InvalidApiKeyName):
        await create.execute(CreateApiKeyCommand(Principal(user), "   "))
    with pytest.raises(InvalidExpiry):
        await create.execute(CreateApiKeyCommand(Principal(user), "ci", expires_at=clock.now()))

    assert uow.api_key_store.keys == {}


async def test_one_key_more_than_the_cap_is_refused_and_nothing_is_stored(
    create: CreateApiKey, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    ada, bob = seed(), seed()
    kept = [await new_key(create, ada, f"key {i}") for i in range(KEYS_PER_USER)]

    with pytest.raises(ApiKeyLimitReached, match="3 API keys"):
        await new_key(create, ada, "one too many")

    assert not uow.committed
    assert {k.id for k in uow.api_key_store.keys.values() if k.user_id == ada.id} == {
        created.api_key.id for created in kept
    }
    await new_key(create, bob, "the cap is per user")


async def test_expired_keys_count_until_deleted(
    create: CreateApiKey,
    delete: DeleteApiKey,
    seed: UserSeeder,
    clock: FixedClock,
) -> None:
    user = seed()
    expires_at = clock.now() + timedelta(days=1)
    keys = [
        await create.execute(CreateApiKeyCommand(Principal(user), f"ci {i}", expires_at=expires_at))
        for i in range(KEYS_PER_USER)
    ]
    clock.set(expires_at + timedelta(days=1))

    with pytest.raises(ApiKeyLimitReached):
        await new_key(create, user, "after they expired")
    await delete.execute(DeleteApiKeyCommand(Principal(user), keys[0].api_key.id))
    await new_key(create, user, "after one was deleted")


async def test_an_api_key_principal_cannot_create_list_or_delete_keys(
    create: CreateApiKey,
    list_keys: ListApiKeys,
    delete: DeleteApiKey,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
) -> None:
    user = seed()
    existing = await new_key(create, user)
    principal = api_key_principal(user)

    with pytest.raises(Forbidden):
        await create.execute(CreateApiKeyCommand(principal, "minted by a leaked key"))
    with pytest.raises(Forbidden):
        await list_keys.execute(ListApiKeysQuery(principal))
    with pytest.raises(Forbidden):
        await delete.execute(DeleteApiKeyCommand(principal, existing.api_key.id))

    assert list(uow.api_key_store.keys) == [existing.api_key.id]


async def test_list_shows_only_the_callers_keys_oldest_first(
    create: CreateApiKey,
    list_keys: ListApiKeys,
    seed: UserSeeder,
    clock: FixedClock,
) -> None:
    ada, bob = seed(), seed()
    first = await new_key(create, ada, "first")
    clock.advance(timedelta(minutes=1))
    await new_key(create, bob, "bob's")
    clock.advance(timedelta(minutes=1))
    second = await new_key(create, ada, "second")

    listed = (await list_keys.execute(ListApiKeysQuery(Principal(ada)))).items

    assert [k.id for k in listed] == [first.api_key.id, second.api_key.id]
    assert [k.name.value for k in listed] == ["first", "second"]
    assert (await list_keys.execute(ListApiKeysQuery(Principal(seed())))).items == []


async def test_keys_are_listed_a_page_at_a_time(
    create: CreateApiKey, list_keys: ListApiKeys, seed: UserSeeder
) -> None:
    ada, bob = seed(), seed()
    created = [await new_key(create, ada, f"key {i}") for i in range(KEYS_PER_USER)]
    await new_key(create, bob, "not on ada's pages")

    pages = []
    cursor = None
    while True:
        page = await list_keys.execute(ListApiKeysQuery(Principal(ada), limit=2, cursor=cursor))
        pages.append([k.id for k in page.items])
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pages == [[k.api_key.id for k in created[:2]], [created[2].api_key.id]]


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_page_holds_one_to_a_hundred_keys(
    list_keys: ListApiKeys, seed: UserSeeder, limit: int
) -> None:
    with pytest.raises(InvalidPageSize):
        await list_keys.execute(ListApiKeysQuery(Principal(seed()), limit=limit))


async def test_a_cursor_of_another_listing_is_refused(
    create: CreateApiKey, list_keys: ListApiKeys, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    admin = seed(role=Role.ADMIN)
    for _ in range(2):
        seed()
    users_cursor = (
        await ListUsers(uow.factory).execute(ListUsersQuery(Principal(admin), limit=1))
    ).next_cursor
    assert users_cursor is not None

    with pytest.raises(InvalidCursor):
        await list_keys.execute(ListApiKeysQuery(Principal(admin), cursor=users_cursor))
    with pytest.raises(InvalidCursor):
        await list_keys.execute(ListApiKeysQuery(Principal(admin), cursor="not-a-cursor"))


async def test_deleted_key_stops_working(
    create: CreateApiKey,
    list_keys: ListApiKeys,
    delete: DeleteApiKey,
    resolve: ResolveApiKeyPrincipal,
    seed: UserSeeder,
) -> None:
    user = seed()
    created = await new_key(create, user)
    await resolve.execute(created.key)

    await delete.execute(DeleteApiKeyCommand(Principal(user), created.api_key.id))

    with pytest.raises(InvalidToken):
        await resolve.execute(created.key)
    assert (await list_keys.execute(ListApiKeysQuery(Principal(user)))).items == []


async def test_deleting_another_users_key_is_not_found_and_the_key_still_works(
    create: CreateApiKey,
    delete: DeleteApiKey,
    resolve: ResolveApiKeyPrincipal,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
) -> None:
    owner, intruder = seed(), seed()
    created = await new_key(create, owner)
    commits = uow.commit_count

    with pytest.raises(ApiKeyNotFound):
        await delete.execute(DeleteApiKeyCommand(Principal(intruder), created.api_key.id))

    assert uow.commit_count == commits
    principal = await resolve.execute(created.key)
    assert principal.user.id == owner.id


async def test_deleting_a_missing_key_is_not_found(
    create: CreateApiKey,
    delete: DeleteApiKey,
    resolve: ResolveApiKeyPrincipal,
    seed: UserSeeder,
) -> None:
    user = seed()
    created = await new_key(create, user)

    with pytest.raises(ApiKeyNotFound):
        await delete.execute(DeleteApiKeyCommand(Principal(user), ApiKeyId(UUID(int=404))))

    await resolve.execute(created.key)


async def test_deleting_twice_is_not_found_the_second_time(
    create: CreateApiKey, delete: DeleteApiKey, seed: UserSeeder
) -> None:
    user = seed()
    created = await new_key(create, user)
    await delete.execute(DeleteApiKeyCommand(Principal(user), created.api_key.id))

    with pytest.raises(ApiKeyNotFound):
        await delete.execute(DeleteApiKeyCommand(Principal(user), created.api_key.id))


async def test_a_valid_key_resolves_to_its_owner(
    create: CreateApiKey, resolve: ResolveApiKeyPrincipal, seed: UserSeeder
) -> None:
    user = seed()
    created = await new_key(create, user)

    principal = await resolve.execute(created.key)

    assert principal.user == user
    assert principal.method is AuthMethod.API_KEY
    assert principal.api_key_id == created.api_key.id
    assert principal.session_id is None
    with pytest.raises(Forbidden):
        principal.ensure_bearer()


async def test_a_wrong_secret_behind_a_real_prefix_is_invalid(
    create: CreateApiKey, resolve: ResolveApiKeyPrincipal, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    created = await new_key(create, seed())
    forged = f"{created.api_key.prefix}_{'A' * 43}"
    assert ParsedApiKey.parse(forged) is not None

    with pytest.raises(InvalidToken):
        await resolve.execute(forged)

    assert uow.api_key_store.keys[created.api_key.id].last_used_at is None


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("acc_short", id="truncated"),
        pytest.param("acc_aaaaaaaaaa_" + "a" * 1_000, id="overlong"),
        pytest.param("acc_aaaaaaaaaa_" + "a" * 40, id="well-formed-but-unknown"),
    ],
)
async def test_malformed_or_unknown_keys_are_invalid(
    create: CreateApiKey, resolve: ResolveApiKeyPrincipal, seed: UserSeeder, presented: str
) -> None:
    await new_key(create, seed())

    with pytest.raises(InvalidToken):
        await resolve.execute(presented)


async def test_an_expired_key_is_invalid(
    create: CreateApiKey, resolve: ResolveApiKeyPrincipal, seed: UserSeeder, clock: FixedClock
) -> None:
    user = seed()
    expires_at = clock.now() + timedelta(days=1)
    created = await create.execute(
        CreateApiKeyCommand(Principal(user), "ci", expires_at=expires_at)
    )
    clock.set(expires_at - timedelta(seconds=1))
    await resolve.execute(created.key)
    clock.set(expires_at)

    with pytest.raises(InvalidToken):
        await resolve.execute(created.key)


async def test_a_deactivated_owners_key_is_disabled(
    create: CreateApiKey,
    resolve: ResolveApiKeyPrincipal,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    user = seed()
    created = await new_key(create, user)
    await deactivate(uow, user, clock)

    with pytest.raises(AccountDisabled):
        await resolve.execute(created.key)


async def test_role_comes_from_the_owners_current_state(
    create: CreateApiKey,
    resolve: ResolveApiKeyPrincipal,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    admin = seed.admin()
    created = await new_key(create, admin)
    async with uow:
        current = await uow.users.get_by_id(admin.id)
        assert current is not None
        current.change_role(Role.USER, clock.now())
        await uow.users.update(current)
        await uow.commit()

    principal = await resolve.execute(created.key)

    with pytest.raises(Forbidden):
        principal.ensure_admin()


async def test_last_used_at_is_written_at_most_once_a_minute(
    create: CreateApiKey,
    resolve: ResolveApiKeyPrincipal,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    created = await new_key(create, seed())
    key_id = created.api_key.id
    first_use = clock.now()

    await resolve.execute(created.key)
    for _ in range(5):
        clock.advance(timedelta(seconds=10))
        await resolve.execute(created.key)

    assert uow.api_key_store.use_writes == 1
    assert uow.api_key_store.keys[key_id].last_used_at == first_use

    clock.set(first_use + timedelta(minutes=1))
    await resolve.execute(created.key)

    assert uow.api_key_store.use_writes == 2
    assert uow.api_key_store.keys[key_id].last_used_at == clock.now()


async def test_a_failed_resolve_never_records_a_use(
    create: CreateApiKey,
    resolve: ResolveApiKeyPrincipal,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    user = seed()
    created = await new_key(create, user)
    await deactivate(uow, user, clock)

    with pytest.raises(AccountDisabled):
        await resolve.execute(created.key)

    assert uow.api_key_store.use_writes == 0
    assert uow.api_key_store.keys[created.api_key.id].last_used_at is None
