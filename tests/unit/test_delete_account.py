"""Deleting accounts: step-up, the last-admin rule, If-Match, and everything attached."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidToken,
    PreconditionFailed,
    ReauthenticationRequired,
    UserNotFound,
)
from application.principal import AuthMethod, Principal
from application.use_cases.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.errors import LastActiveAdmin
from domain.users import PasswordPolicy, User, UserId
from tests.fakes import (
    FakePasswordHasher,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    SequentialSecrets,
    audit_events,
    mail_links,
)
from tests.unit.builders import PASSWORD, SessionFlows, UserSeeder

MAX_AGE = timedelta(minutes=5)


@pytest.fixture
def delete(uow: FakeUnitOfWork, clock: FixedClock) -> DeleteAccount:
    return DeleteAccount(uow.factory, clock, audit_events(), MAX_AGE)


async def logged_in(auth: SessionFlows, user: User) -> Principal:
    return await auth.resolve((await auth.login(user)).access_token.value)


async def test_deleting_your_account_removes_it_and_everything_attached(
    *,
    auth: SessionFlows,
    seed: UserSeeder,
    delete: DeleteAccount,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    ids: SequentialIds,
) -> None:
    user, other = seed(), seed()
    issued = await auth.login(user)
    me = await auth.resolve(issued.access_token.value)
    await CreateApiKey(
        uow.factory, clock, ids, SequentialSecrets(), audit_events(), keys_per_user=5
    ).execute(CreateApiKeyCommand(principal=me, name="bot"))
    uow.external_store.links[("https://idp.example", "sub-1")] = user.id
    theirs = await auth.login(other)

    await delete.execute(DeleteAccountCommand(principal=me))

    assert uow.store.find(user.id) is None
    assert all(s.user_id != user.id for s in uow.session_store.sessions.values())
    assert all(t.user_id != user.id for t in uow.refresh_store.tokens.values())
    assert all(k.user_id != user.id for k in uow.api_key_store.keys.values())
    assert user.id not in uow.external_store.links.values()
    with pytest.raises(InvalidToken):
        await auth.resolve(issued.access_token.value)
    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.refresh_token)
    assert (await auth.resolve(theirs.access_token.value)).user == other


async def test_a_deleted_accounts_email_can_register_again(
    *,
    auth: SessionFlows,
    seed: UserSeeder,
    delete: DeleteAccount,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    ids: SequentialIds,
    hasher: FakePasswordHasher,
    policy: PasswordPolicy,
) -> None:
    user = seed("ada@example.com")
    await delete.execute(DeleteAccountCommand(principal=await logged_in(auth, user)))

    again = await RegisterUser(
        uow.factory, hasher, clock, ids, policy, events=audit_events(), links=mail_links()
    ).execute(RegisterUserCommand("ADA@example.com", PASSWORD))

    assert again.id != user.id


async def test_an_old_login_must_authenticate_again(
    auth: SessionFlows,
    seed: UserSeeder,
    delete: DeleteAccount,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    user = seed()
    issued = await auth.login(user)
    clock.advance(MAX_AGE + timedelta(seconds=1))
    # A refresh proves possession of a token, not the password: the login stays old.
    refreshed = await auth.refresh(issued.refresh_token)
    me = await auth.resolve(refreshed.access_token.value)

    with pytest.raises(ReauthenticationRequired) as refused:
        await delete.execute(DeleteAccountCommand(principal=me))

    assert refused.value.max_age == 300
    assert uow.store.find(user.id) is not None
    await delete.execute(DeleteAccountCommand(principal=await logged_in(auth, user)))
    assert uow.store.find(user.id) is None


async def test_a_login_exactly_max_age_old_is_still_recent(
    auth: SessionFlows, seed: UserSeeder, delete: DeleteAccount, clock: FixedClock
) -> None:
    user = seed()
    me = await logged_in(auth, user)
    clock.advance(MAX_AGE)

    await delete.execute(DeleteAccountCommand(principal=me))


async def test_api_keys_and_external_tokens_cannot_delete_accounts(
    seed: UserSeeder, delete: DeleteAccount, uow: FakeUnitOfWork
) -> None:
    user = seed()
    by_key = Principal(user=user, method=AuthMethod.API_KEY, api_key_id=UUID(int=7))
    # An external identity provider's token carries no login time of ours.
    external = Principal(user=user)

    with pytest.raises(Forbidden):
        await delete.execute(DeleteAccountCommand(principal=by_key))
    with pytest.raises(ReauthenticationRequired):
        await delete.execute(DeleteAccountCommand(principal=external))
    assert uow.store.find(user.id) is not None


async def test_the_last_active_admin_cannot_be_deleted(
    auth: SessionFlows, seed: UserSeeder, delete: DeleteAccount, uow: FakeUnitOfWork
) -> None:
    admin = seed.admin()
    seed.admin(is_active=False)

    with pytest.raises(LastActiveAdmin):
        await delete.execute(DeleteAccountCommand(principal=await logged_in(auth, admin)))

    assert uow.store.find(admin.id) is not None


async def test_an_admin_deletes_another_account_honouring_if_match(
    auth: SessionFlows, seed: UserSeeder, delete: DeleteAccount, uow: FakeUnitOfWork
) -> None:
    admin, user = seed.admin(), seed()
    principal = await logged_in(auth, admin)

    with pytest.raises(PreconditionFailed):
        await delete.execute(DeleteAccountCommand(principal, user.id, if_match=frozenset({2})))
    assert uow.store.find(user.id) is not None
    await delete.execute(DeleteAccountCommand(principal, user.id, if_match=frozenset({1})))

    assert uow.store.find(user.id) is None
    with pytest.raises(UserNotFound):
        await delete.execute(DeleteAccountCommand(principal, user.id))


async def test_of_two_admins_one_may_delete_the_other_but_not_the_last(
    auth: SessionFlows, seed: UserSeeder, delete: DeleteAccount, uow: FakeUnitOfWork
) -> None:
    ada, bob = seed.admin(), seed.admin()
    ada_principal = await logged_in(auth, ada)
    bob_principal = await logged_in(auth, bob)

    await delete.execute(DeleteAccountCommand(ada_principal, bob.id))

    # Bob's request was authenticated before his deletion; the lock re-check refuses it.
    with pytest.raises(Forbidden):
        await delete.execute(DeleteAccountCommand(bob_principal, ada.id))
    with pytest.raises(LastActiveAdmin):
        await delete.execute(DeleteAccountCommand(ada_principal))
    assert [u.id for u in uow.store.all()] == [ada.id]


async def test_a_user_cannot_delete_someone_else(
    auth: SessionFlows, seed: UserSeeder, delete: DeleteAccount, uow: FakeUnitOfWork
) -> None:
    ada, bob = seed(), seed()

    with pytest.raises(Forbidden):
        await delete.execute(DeleteAccountCommand(await logged_in(auth, ada), bob.id))

    assert uow.store.find(bob.id) is not None


async def test_deleting_a_user_that_vanished_meanwhile_is_not_found(
    seed: UserSeeder, delete: DeleteAccount, clock: FixedClock
) -> None:
    admin = seed.admin()
    principal = Principal(user=admin, auth_time=clock.now())

    with pytest.raises(UserNotFound):
        await delete.execute(DeleteAccountCommand(principal, UserId(UUID(int=404))))
