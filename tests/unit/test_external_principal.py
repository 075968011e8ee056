from __future__ import annotations

from uuid import UUID

import pytest

from application.errors import AccountDisabled, InvalidCredentials, InvalidToken
from application.external_accounts import ExternalAccounts
from application.ports import ExternalIdentity
from application.principal import AuthMethod
from application.request_context import RequestContext
from application.use_cases.resolve_principal import ResolvePrincipal
from domain.users import EmailAddress, FullName, Role, User, UserId
from tests.fakes import (
    DEFAULT_NOW,
    FakeExternalTokens,
    FakePasswordHasher,
    FakeTokens,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    audit_events,
)
from tests.unit.builders import PASSWORD, SessionFlows, UserSeeder

ISSUER = "https://idp.example"


def identity(
    subject: str = "sub-1",
    *,
    email: str | None = "ext@example.com",
    email_verified: bool | None = True,
    name: str | None = "Ext Ernal",
    roles: frozenset[str] = frozenset(),
) -> ExternalIdentity:
    return ExternalIdentity(
        issuer=ISSUER,
        subject=subject,
        email=email,
        email_verified=email_verified,
        name=name,
        roles=roles,
    )


@pytest.fixture
def external() -> FakeExternalTokens:
    return FakeExternalTokens(ISSUER)


@pytest.fixture
def accounts(uow: FakeUnitOfWork, clock: FixedClock, ids: SequentialIds) -> ExternalAccounts:
    return ExternalAccounts(uow.factory, clock, ids, audit_events())


@pytest.fixture
def resolve(
    uow: FakeUnitOfWork,
    tokens: FakeTokens,
    external: FakeExternalTokens,
    accounts: ExternalAccounts,
) -> ResolvePrincipal:
    return ResolvePrincipal(uow.reader, tokens, external, accounts)


async def deactivate(uow: FakeUnitOfWork, user_id: UserId, clock: FixedClock) -> None:
    async with uow:
        current = await uow.users.get_by_id(user_id)
        assert current is not None
        current.deactivate(clock.now())
        await uow.users.update(current)
        await uow.commit()


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        pytest.param(frozenset(), Role.USER, id="no-roles"),
        pytest.param(frozenset({"reader", "auditor"}), Role.USER, id="other-roles"),
        pytest.param(frozenset({"admin"}), Role.ADMIN, id="admin"),
        pytest.param(frozenset({"reader", "admin"}), Role.ADMIN, id="admin-among-others"),
    ],
)
async def test_first_sight_provisions_an_active_user_without_password(
    resolve: ResolvePrincipal,
    external: FakeExternalTokens,
    uow: FakeUnitOfWork,
    roles: frozenset[str],
    role: Role,
) -> None:
    token = external.add("ext", identity(roles=roles))

    principal = await resolve.execute(token)

    user = uow.store.find(principal.user.id)
    assert user is not None
    assert user.email == EmailAddress("ext@example.com")
    assert user.full_name == FullName("Ext Ernal")
    assert user.role is role
    assert user.is_active
    assert user.password_hash is None
    assert user.created_at == user.updated_at == DEFAULT_NOW
    assert uow.external_store.links == {(ISSUER, "sub-1"): user.id}
    assert principal.method is AuthMethod.BEARER
    assert principal.session_id is None
    assert principal.api_key_id is None


async def test_second_sight_returns_the_same_user_without_provisioning_again(
    resolve: ResolvePrincipal, external: FakeExternalTokens, uow: FakeUnitOfWork
) -> None:
    first_token = external.add("first", identity())
    # The provider's view changes later; the local account is not re-provisioned from it.
    later_token = external.add(
        "later", identity(email="renamed@example.com", name="New", roles=frozenset({"admin"}))
    )
    first = await resolve.execute(first_token)
    commits = uow.commit_count

    second = await resolve.execute(later_token)

    assert second.user.id == first.user.id
    assert second.user.role is Role.USER
    assert second.user.email == EmailAddress("ext@example.com")
    assert uow.commit_count == commits
    assert len(uow.store.all()) == 1
    assert len(uow.external_store.links) == 1


async def test_the_link_is_by_subject_so_a_new_subject_is_a_new_user(
    resolve: ResolvePrincipal, external: FakeExternalTokens, uow: FakeUnitOfWork
) -> None:
    first = await resolve.execute(external.add("a", identity("sub-1", email="a@example.com")))
    second = await resolve.execute(external.add("b", identity("sub-2", email="b@example.com")))

    assert first.user.id != second.user.id
    assert len(uow.external_store.links) == 2


async def test_a_missing_or_unusable_name_gives_an_empty_name(
    resolve: ResolvePrincipal, external: FakeExternalTokens
) -> None:
    nameless = await resolve.execute(external.add("a", identity("sub-1", name=None)))
    garbled = await resolve.execute(
        external.add("b", identity("sub-2", email="b@example.com", name="bad\x00name"))
    )

    assert nameless.user.full_name == FullName("")
    assert garbled.user.full_name == FullName("")


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(identity(email=None), id="no-email"),
        pytest.param(identity(email_verified=False), id="unverified-email"),
        pytest.param(identity(email="not an email"), id="malformed-email"),
    ],
)
async def test_an_identity_without_a_usable_verified_email_is_refused(
    resolve: ResolvePrincipal,
    external: FakeExternalTokens,
    uow: FakeUnitOfWork,
    who: ExternalIdentity,
) -> None:
    with pytest.raises(InvalidToken):
        await resolve.execute(external.add("ext", who))

    assert uow.store.all() == []
    assert uow.external_store.links == {}


async def test_an_email_of_a_local_account_is_refused_not_merged(
    resolve: ResolvePrincipal,
    external: FakeExternalTokens,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
) -> None:
    local = seed("ext@example.com")

    with pytest.raises(InvalidToken):
        await resolve.execute(external.add("ext", identity(email="EXT@example.com")))

    assert uow.external_store.links == {}
    assert [u.id for u in uow.store.all()] == [local.id]


async def test_a_deactivated_external_user_is_disabled(
    resolve: ResolvePrincipal,
    external: FakeExternalTokens,
    uow: FakeUnitOfWork,
    clock: FixedClock,
) -> None:
    token = external.add("ext", identity())
    principal = await resolve.execute(token)
    await deactivate(uow, principal.user.id, clock)

    with pytest.raises(AccountDisabled):
        await resolve.execute(token)

    assert len(uow.store.all()) == 1


async def test_a_link_to_a_vanished_user_is_invalid(
    resolve: ResolvePrincipal, external: FakeExternalTokens, uow: FakeUnitOfWork
) -> None:
    uow.external_store.links[(ISSUER, "sub-1")] = UserId(UUID(int=404))

    with pytest.raises(InvalidToken):
        await resolve.execute(external.add("ext", identity()))


async def test_an_unverifiable_external_token_is_invalid(
    resolve: ResolvePrincipal, uow: FakeUnitOfWork
) -> None:
    with pytest.raises(InvalidToken):
        await resolve.execute("ext:forged")

    assert uow.store.all() == []


async def test_external_tokens_are_refused_when_no_provider_is_configured(
    uow: FakeUnitOfWork, tokens: FakeTokens, external: FakeExternalTokens
) -> None:
    resolve = ResolvePrincipal(uow.reader, tokens)

    with pytest.raises(InvalidToken):
        await resolve.execute(external.add("ext", identity()))

    assert uow.store.all() == []


async def test_a_password_grant_for_a_provisioned_user_fails_at_the_cost_of_a_verification(
    resolve: ResolvePrincipal,
    external: FakeExternalTokens,
    auth: SessionFlows,
    hasher: FakePasswordHasher,
) -> None:
    principal = await resolve.execute(external.add("ext", identity()))

    with pytest.raises(InvalidCredentials):
        await auth.login(principal.user, PASSWORD)

    assert hasher.dummy_calls == 1
    assert hasher.verify_calls == 0


async def test_local_tokens_still_resolve_alongside_the_provider(
    resolve: ResolvePrincipal, seed: UserSeeder, tokens: FakeTokens, clock: FixedClock
) -> None:
    user = seed()
    token = tokens.issue_for_claims(subject=user.id, role=user.role)

    principal = await resolve.execute(token.value)

    assert principal.user == user


async def test_concurrent_first_sights_both_get_the_one_provisioned_user(
    uow: FakeUnitOfWork, clock: FixedClock, external: FakeExternalTokens, tokens: FakeTokens
) -> None:
    who = identity()
    winner = User.provision_external(
        user_id=UserId(UUID(int=900)),
        email=EmailAddress("ext@example.com"),
        full_name=FullName("Ext Ernal"),
        role=Role.USER,
        now=clock.now(),
    )

    class ConcurrentRequestCommitsFirst(SequentialIds):
        """Another request's provisioning commits after ours found no link, before our insert."""

        def new_id(self) -> UUID:
            assert not uow.in_transaction
            if not uow.external_store.links:
                uow.store.seed(winner)
                uow.external_store.links[(who.issuer, who.subject)] = winner.id
            return super().new_id()

    accounts = ExternalAccounts(
        uow.factory, clock, ConcurrentRequestCommitsFirst(start=1), audit_events()
    )
    resolve = ResolvePrincipal(uow.reader, tokens, external, accounts)

    principal = await resolve.execute(external.add("ext", who))

    assert principal.user.id == winner.id
    assert len(uow.store.all()) == 1


async def test_the_providers_word_on_the_email_is_kept_as_email_verified(
    resolve: ResolvePrincipal, external: FakeExternalTokens
) -> None:
    vouched = await resolve.execute(external.add("a", identity("sub-1")))
    silent = await resolve.execute(
        external.add("b", identity("sub-2", email="b@example.com", email_verified=None))
    )

    assert vouched.user.email_verified is True
    assert silent.user.email_verified is False


async def test_only_external_tokens_ask_for_the_request_context_a_first_login_records(
    resolve: ResolvePrincipal,
    external: FakeExternalTokens,
    uow: FakeUnitOfWork,
    seed: UserSeeder,
    tokens: FakeTokens,
) -> None:
    context = RequestContext(client_ip="203.0.113.9", user_agent="cli/1", request_id="r-ext")
    asked: list[RequestContext] = []

    def context_of() -> RequestContext:
        asked.append(context)
        return context

    local = seed()
    await resolve.execute(
        tokens.issue_for_claims(subject=local.id, role=local.role).value, context_of
    )
    assert asked == []

    await resolve.execute(external.add("ext", identity()), context_of)

    assert asked == [context]
    [registered] = [
        event
        for event in uow.audit_store.of_type("user.registered")
        if event.subject_id != local.id
    ]
    assert (registered.client_ip, registered.user_agent, registered.request_id) == (
        "203.0.113.9",
        "cli/1",
        "r-ext",
    )
