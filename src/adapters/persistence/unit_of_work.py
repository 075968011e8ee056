"""The unit of work: one session, one transaction, committed only on request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.persistence.audit_log import SqlAlchemyAuditLog
from adapters.persistence.client_repository import SqlAlchemyClientRepository
from adapters.persistence.credential_repositories import (
    SqlAlchemyApiKeyRepository,
    SqlAlchemyExternalIdentityRepository,
    SqlAlchemyOneTimeTokenRepository,
    SqlAlchemyRefreshTokenRepository,
    SqlAlchemySessionRepository,
)
from adapters.persistence.errors import translate_errors
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.outbox import SqlAlchemyOutbox
from adapters.persistence.second_factor_repositories import (
    SqlAlchemyMfaChallengeRepository,
    SqlAlchemySecondFactorRepository,
)
from adapters.persistence.signing_key_repository import SqlAlchemySigningKeyRepository
from adapters.persistence.user_repository import SqlAlchemyUserRepository
from application.errors import StorageUnavailable
from application.ports.persistence import (
    ApiKeyRepository,
    AuditLog,
    ClientRepository,
    ExternalIdentityRepository,
    MfaChallengeRepository,
    OneTimeTokenRepository,
    Outbox,
    RefreshTokenRepository,
    SecondFactorRepository,
    SessionRepository,
    SigningKeyRepository,
    UnitOfWork,
    UserRepository,
)


class SqlAlchemyUnitOfWork(UnitOfWork):
    """A transaction over a fresh session; one instance serves one `async with` at a time."""

    users: UserRepository
    sessions: SessionRepository
    refresh_tokens: RefreshTokenRepository
    api_keys: ApiKeyRepository
    external_identities: ExternalIdentityRepository
    one_time_tokens: OneTimeTokenRepository
    audit: AuditLog
    outbox: Outbox
    second_factors: SecondFactorRepository
    mfa_challenges: MfaChallengeRepository
    clients: ClientRepository
    signing_keys: SigningKeyRepository

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        gate: ConnectionGate,
        mail_committed: Callable[[], None] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._gate = gate
        self._mail_committed = mail_committed
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("This unit of work is already in use; make one per transaction.")
        await self._gate.enter()
        self._session = self._session_factory()
        self.users = SqlAlchemyUserRepository(self._session)
        self.sessions = SqlAlchemySessionRepository(self._session)
        self.refresh_tokens = SqlAlchemyRefreshTokenRepository(self._session)
        self.api_keys = SqlAlchemyApiKeyRepository(self._session)
        self.external_identities = SqlAlchemyExternalIdentityRepository(self._session)
        self.one_time_tokens = SqlAlchemyOneTimeTokenRepository(self._session)
        self.audit = SqlAlchemyAuditLog(self._session)
        self._outbox = SqlAlchemyOutbox(self._session)
        self.outbox = self._outbox
        self.second_factors = SqlAlchemySecondFactorRepository(self._session)
        self.mfa_challenges = SqlAlchemyMfaChallengeRepository(self._session)
        self.clients = SqlAlchemyClientRepository(self._session)
        self.signing_keys = SqlAlchemySigningKeyRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        failing = exc is not None
        try:
            if session.in_transaction():
                with _reported_unless(failing):
                    await session.rollback()
        finally:
            try:
                with _reported_unless(failing):
                    await session.close()
            finally:
                self._gate.leave()

    async def commit(self) -> None:
        """Make every write of this unit durable."""
        if self._session is None:
            raise RuntimeError("Commit outside `async with`: the unit of work has no session.")
        with translate_errors():
            await self._session.commit()
        if self._outbox.queued and self._mail_committed is not None:
            self._outbox.queued = False
            self._mail_committed()


@contextmanager
def _reported_unless(failing: bool) -> Iterator[None]:
    """Translate storage failures, but let an error already on its way out win over them."""
    try:
        with translate_errors():
            yield
    except StorageUnavailable:
        # A rollback on a broken connection fails too, and the server discards the transaction
        # anyway: the error that made the block fail is the one worth reporting.
        if not failing:
            raise


def unit_of_work_factory(
    session_factory: async_sessionmaker[AsyncSession],
    gate: ConnectionGate,
    mail_committed: Callable[[], None] | None = None,
) -> Callable[[], SqlAlchemyUnitOfWork]:
    """A factory that makes a fresh unit of work per call, for use cases to hold;
    `mail_committed` is called after each commit that queued mail."""

    def make() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory, gate, mail_committed)

    return make
