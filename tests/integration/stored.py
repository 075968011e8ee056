"""Rows put in place through the repositories, for the persistence adapters' tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
from adapters.system.ids import UuidV7Generator
from adapters.system.secrets import OsSecretGenerator
from application.request_context import RequestContext
from application.sessions import SessionIssuer
from domain.sessions import Session
from domain.users import EmailAddress, FullName, Role, User, UserId
from tests.fakes import FakeTokens, FixedClock

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)


def session_issuer(clock: FixedClock) -> SessionIssuer:
    """Sessions of 90 days with refresh tokens of 30, on `clock`."""
    return SessionIssuer(
        tokens=FakeTokens(clock),
        secrets=OsSecretGenerator(),
        ids=UuidV7Generator(),
        refresh_token_lifetime=timedelta(days=30),
        session_lifetime=timedelta(days=90),
    )


async def a_user(uow_factory: UowFactory, number: int = 1, full_name: str = "") -> User:
    """A stored user (no password) whose id and email follow from `number`."""
    user = User.provision_external(
        user_id=UserId(UUID(int=number)),
        email=EmailAddress(f"user{number}@example.com"),
        full_name=FullName(full_name),
        role=Role.USER,
        now=NOW,
    )
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


async def a_session(
    uow_factory: UowFactory, sessions: SessionIssuer, user: User, started: datetime = NOW
) -> tuple[Session, str]:
    """Store a new session for `user`: the session, and its first refresh token's secret."""
    session, refresh = sessions.start(
        user, started, RequestContext(client_ip="192.0.2.7", user_agent="stored/1.0")
    )
    async with uow_factory() as uow:
        await uow.sessions.add(session)
        await uow.refresh_tokens.add(refresh.record)
        await uow.commit()
    return session, refresh.secret
