"""Test-data builders shared by the unit tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from application.principal import Principal
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import IssuedTokens, SessionIssuer
from application.use_cases.authenticate_with_password import (
    AuthenticateWithPassword,
    PasswordGrantCommand,
)
from application.use_cases.refresh_access_token import RefreshAccessToken, RefreshGrantCommand
from application.use_cases.resolve_principal import ResolvePrincipal
from application.use_cases.revoke_token import RevokeToken, RevokeTokenCommand, TokenTypeHint
from domain.sessions import Session, SessionId
from domain.users import (
    EmailAddress,
    FullName,
    HashedPassword,
    PasswordPolicy,
    Role,
    User,
    UserId,
)
from tests.fakes import (
    FakePasswordHasher,
    FakePseudonymizer,
    FakeTokens,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    audit_events,
)

PASSWORD = "correct horse battery staple"


def a_user(now: datetime) -> User:
    """A registered user on its own, for tests that only need one to issue tokens for."""
    return User.register(
        user_id=UserId(uuid4()),
        email=EmailAddress("ada@example.com"),
        full_name=FullName("Ada"),
        password_hash=HashedPassword("$argon2id$fake"),
        now=now,
    )


def session_of(user: User, now: datetime, amr: tuple[str, ...] = ("pwd",)) -> Session:
    """A password login of `user` that started `now`, on its own."""
    return Session.start(
        session_id=SessionId(uuid4()),
        user_id=user.id,
        now=now,
        lifetime=timedelta(days=90),
        amr=amr,
    )


class UserSeeder:
    """Builds users and stores them as already committed, bypassing any use case."""

    def __init__(
        self,
        uow: FakeUnitOfWork,
        ids: SequentialIds,
        clock: FixedClock,
        hasher: FakePasswordHasher,
    ) -> None:
        self._uow = uow
        self._ids = ids
        self._clock = clock
        self._hasher = hasher
        self._serial = 0

    def __call__(
        self,
        email: str | None = None,
        *,
        role: Role = Role.USER,
        is_active: bool = True,
        full_name: str = "",
        password: str = PASSWORD,
        hash_params: str | None = None,
    ) -> User:
        self._serial += 1
        user = User.register(
            user_id=UserId(self._ids.new_id()),
            email=EmailAddress(email or f"user{self._serial}@example.com"),
            full_name=FullName(full_name),
            password_hash=self._hasher.hash_now(password, hash_params),
            now=self._clock.now(),
            role=role,
        )
        user.is_active = is_active
        self._uow.store.seed(user)
        return user

    def admin(self, email: str | None = None, *, is_active: bool = True) -> User:
        return self(email, role=Role.ADMIN, is_active=is_active)


class SessionFlows:
    """The login-session use cases over one set of fakes, for tests that follow a token from
    the password grant through refresh, use and revocation."""

    def __init__(
        self,
        *,
        uow: FakeUnitOfWork,
        hasher: FakePasswordHasher,
        sessions: SessionIssuer,
        tokens: FakeTokens,
        clock: FixedClock,
        policy: PasswordPolicy,
    ) -> None:
        self.authenticate = AuthenticateWithPassword(
            uow.factory,
            hasher,
            sessions,
            clock,
            policy,
            events=audit_events(),
            pseudonyms=FakePseudonymizer(),
        )
        self.refresh_access_token = RefreshAccessToken(uow.factory, sessions, clock, audit_events())
        self.resolve_principal = ResolvePrincipal(uow.reader, tokens)
        self.revoke_token = RevokeToken(uow.factory, tokens, clock, audit_events())

    async def login(
        self, user: User, password: str = PASSWORD, context: RequestContext = NO_REQUEST
    ) -> IssuedTokens:
        issued = await self.authenticate.execute(
            PasswordGrantCommand(user.email.normalized, password, context)
        )
        assert isinstance(issued, IssuedTokens), "the second factor is on: use the MFA grant"
        return issued

    async def refresh(self, refresh_token: str) -> IssuedTokens:
        return await self.refresh_access_token.execute(RefreshGrantCommand(refresh_token))

    async def resolve(self, access_token: str) -> Principal:
        return await self.resolve_principal.execute(access_token)

    async def revoke(self, token: str, hint: TokenTypeHint | None = None) -> None:
        await self.revoke_token.execute(RevokeTokenCommand(token, hint))
