"""Fresh fakes for every test: nothing is shared, so tests cannot leak state into each other."""

from __future__ import annotations

import pytest

from domain.users import PasswordPolicy
from tests.fakes import FakePasswordHasher, FakeTokens, FakeUnitOfWork, FixedClock, SequentialIds
from tests.unit.builders import UserSeeder


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ids() -> SequentialIds:
    return SequentialIds()


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


@pytest.fixture
def tokens(clock: FixedClock) -> FakeTokens:
    return FakeTokens(clock)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def policy() -> PasswordPolicy:
    return PasswordPolicy(blocklist=frozenset({"password1234567890"}))


@pytest.fixture
def seed(
    uow: FakeUnitOfWork, ids: SequentialIds, clock: FixedClock, hasher: FakePasswordHasher
) -> UserSeeder:
    return UserSeeder(uow, ids, clock, hasher)
