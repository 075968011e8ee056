"""Fresh fakes for every test: nothing is shared, so tests cannot leak state into each other."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.sessions import SessionIssuer
from domain.users import PasswordPolicy
from tests.fakes import (
    FakePasswordHasher,
    FakeTokens,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    SequentialSecrets,
)
from tests.unit.builders import SessionFlows, UserSeeder


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
def secrets() -> SequentialSecrets:
    return SequentialSecrets()


REFRESH_TOKEN_LIFETIME = timedelta(days=30)
SESSION_LIFETIME = timedelta(days=90)


@pytest.fixture
def sessions(tokens: FakeTokens, secrets: SequentialSecrets, ids: SequentialIds) -> SessionIssuer:
    return SessionIssuer(
        tokens=tokens,
        secrets=secrets,
        ids=ids,
        refresh_token_lifetime=REFRESH_TOKEN_LIFETIME,
        session_lifetime=SESSION_LIFETIME,
    )


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


@pytest.fixture
def auth(
    *,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    sessions: SessionIssuer,
    tokens: FakeTokens,
    clock: FixedClock,
    policy: PasswordPolicy,
) -> SessionFlows:
    return SessionFlows(
        uow=uow, hasher=hasher, sessions=sessions, tokens=tokens, clock=clock, policy=policy
    )
