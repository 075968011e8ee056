from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import AccountDisabled, Forbidden, InvalidToken
from application.principal import AuthMethod
from application.use_cases.resolve_principal import ResolvePrincipal
from domain.users import FullName, Role, UserId
from tests.fakes import FakeTokens, FakeUnitOfWork, FixedClock
from tests.unit.builders import UserSeeder


@pytest.fixture
def resolve(uow: FakeUnitOfWork, tokens: FakeTokens) -> ResolvePrincipal:
    return ResolvePrincipal(uow.reader, tokens)


async def test_valid_token_gives_the_user_as_stored_now(
    resolve: ResolvePrincipal,
    seed: UserSeeder,
    tokens: FakeTokens,
    clock: FixedClock,
    uow: FakeUnitOfWork,
) -> None:
    user = seed(full_name="Ada")
    token = tokens.issue_for_claims(subject=user.id, role=user.role)
    async with uow:
        current = await uow.users.get_by_id(user.id)
        assert current is not None
        current.rename(FullName("Ada Lovelace"), clock.now())
        await uow.users.update(current)
        await uow.commit()

    principal = await resolve.execute(token.value)

    assert principal.user == user
    assert principal.user.full_name == FullName("Ada Lovelace")
    assert principal.user.version == 2
    assert principal.method is AuthMethod.BEARER


async def test_role_comes_from_the_repository_not_the_token(
    resolve: ResolvePrincipal, seed: UserSeeder, tokens: FakeTokens
) -> None:
    demoted = seed(role=Role.USER)
    stale = tokens.issue_for_claims(subject=demoted.id, role=Role.ADMIN)

    principal = await resolve.execute(stale.value)

    assert principal.user.role is Role.USER
    with pytest.raises(Forbidden):
        principal.ensure_admin()


async def test_promotion_takes_effect_without_a_new_token(
    resolve: ResolvePrincipal, seed: UserSeeder, tokens: FakeTokens
) -> None:
    promoted = seed(role=Role.ADMIN)
    stale = tokens.issue_for_claims(subject=promoted.id, role=Role.USER)

    principal = await resolve.execute(stale.value)

    assert principal.user.is_admin
    principal.ensure_admin()


async def test_unknown_subject_is_an_invalid_token(
    resolve: ResolvePrincipal, tokens: FakeTokens
) -> None:
    orphan = tokens.issue_for_claims(subject=UserId(UUID(int=404)), role=Role.USER)

    with pytest.raises(InvalidToken):
        await resolve.execute(orphan.value)


async def test_deactivated_account_is_disabled(
    resolve: ResolvePrincipal, seed: UserSeeder, tokens: FakeTokens, clock: FixedClock
) -> None:
    subject = seed(is_active=False)
    token = tokens.issue_for_claims(subject=subject.id, role=subject.role)

    with pytest.raises(AccountDisabled):
        await resolve.execute(token.value)


@pytest.mark.parametrize("token", ["", "garbage", "fake-token-999"])
async def test_unrecognized_token_is_invalid(resolve: ResolvePrincipal, token: str) -> None:
    with pytest.raises(InvalidToken):
        await resolve.execute(token)


async def test_expired_token_is_invalid(
    resolve: ResolvePrincipal, seed: UserSeeder, tokens: FakeTokens, clock: FixedClock
) -> None:
    subject = seed()
    token = tokens.issue_for_claims(subject=subject.id, role=subject.role)
    clock.advance(timedelta(minutes=15, seconds=1))

    with pytest.raises(InvalidToken):
        await resolve.execute(token.value)
