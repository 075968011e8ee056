"""The fakes stand in for the database in every use-case test, so their semantics are pinned."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import ConcurrentUpdate, EmailAlreadyRegistered, InvalidToken
from application.ports.persistence import UserFilter
from domain.users import EmailAddress, FullName, Role, User, UserId
from tests.fakes import FakePasswordHasher, FakeTokens, FakeUnitOfWork, FixedClock
from tests.unit.builders import PASSWORD, UserSeeder


class TestFakeUnitOfWork:
    async def test_leaving_without_commit_discards_writes(
        self, uow: FakeUnitOfWork, seed: UserSeeder
    ) -> None:
        user = seed()

        async with uow:
            stored = await uow.users.get_by_id(user.id)
            assert stored is not None
            stored.rename(FullName("Changed"), stored.updated_at)
            await uow.users.update(stored)

        assert not uow.committed
        assert uow.store.all()[0].full_name == FullName("")
        assert uow.store.all()[0].version == 1

    async def test_commit_publishes_writes(self, uow: FakeUnitOfWork, seed: UserSeeder) -> None:
        user = seed()

        async with uow:
            stored = await uow.users.get_by_id(user.id)
            assert stored is not None
            stored.change_role(Role.ADMIN, stored.updated_at)
            await uow.users.update(stored)
            await uow.commit()

        assert uow.committed
        assert uow.store.all()[0].role is Role.ADMIN

    async def test_mutating_a_read_entity_does_not_touch_storage(
        self, uow: FakeUnitOfWork, seed: UserSeeder
    ) -> None:
        user = seed()

        async with uow:
            stored = await uow.users.get_by_id(user.id)
            assert stored is not None
            stored.deactivate(stored.updated_at)
            await uow.commit()

        assert uow.store.all()[0].is_active

    async def test_writes_are_invisible_outside_until_commit(
        self, uow: FakeUnitOfWork, seed: UserSeeder, clock: FixedClock
    ) -> None:
        existing = seed()
        newcomer = User.register(
            user_id=UserId(UUID(int=999)),
            email=EmailAddress("new@example.com"),
            full_name=FullName(""),
            password_hash=existing.password_hash,
            now=clock.now(),
        )

        async with uow:
            await uow.users.add(newcomer)
            assert uow.store.all() == [existing]
            await uow.commit()

        assert uow.store.all() == [existing, newcomer]

    async def test_update_with_a_stale_version_is_a_concurrent_update(
        self, uow: FakeUnitOfWork, seed: UserSeeder
    ) -> None:
        user = seed()

        async with uow:
            first = await uow.users.get_by_id(user.id)
            second = await uow.users.get_by_id(user.id)
            assert first is not None
            assert second is not None
            await uow.users.update(first)
            assert first.version == 2
            with pytest.raises(ConcurrentUpdate):
                await uow.users.update(second)

    async def test_emails_are_unique_regardless_of_case(
        self, uow: FakeUnitOfWork, seed: UserSeeder
    ) -> None:
        seed("ada@example.com")

        with pytest.raises(EmailAlreadyRegistered):
            seed("ADA@EXAMPLE.com")

    async def test_list_page_filters_in_id_order(
        self, uow: FakeUnitOfWork, seed: UserSeeder
    ) -> None:
        users = [seed(), seed.admin(), seed(), seed(is_active=False), seed()]

        async with uow:
            page = await uow.users.list_page(UserFilter(limit=2, after=users[0].id))
            admins = await uow.users.list_page(UserFilter(limit=10, role=Role.ADMIN))
            inactive = await uow.users.list_page(UserFilter(limit=10, is_active=False))
            by_email = await uow.users.list_page(
                UserFilter(limit=10, email=EmailAddress(str(users[2].email).upper()))
            )

        assert page == users[1:3]
        assert admins == [users[1]]
        assert inactive == [users[3]]
        assert by_email == [users[2]]


class TestFakeHasherAndTokens:
    async def test_hasher_verifies_only_the_hashed_password(
        self, hasher: FakePasswordHasher
    ) -> None:
        hashed = await hasher.hash(PASSWORD)

        assert hashed.value.startswith("$fake$")
        assert (await hasher.verify(PASSWORD, hashed)).valid
        assert not (await hasher.verify(PASSWORD + "!", hashed)).valid

    async def test_hasher_offers_an_upgrade_for_old_params(
        self, hasher: FakePasswordHasher
    ) -> None:
        old = hasher.hash_now(PASSWORD, "v0")

        result = await hasher.verify(PASSWORD, old)

        assert result.upgraded_hash == hasher.hash_now(PASSWORD)

    def test_tokens_expire(self, tokens: FakeTokens, clock: FixedClock, seed: UserSeeder) -> None:
        subject = seed()
        token = tokens.issue_for_claims(subject=subject.id, role=subject.role)

        clock.advance(timedelta(minutes=15))

        with pytest.raises(InvalidToken):
            tokens.verify_access_token(token.value)
