"""In-memory stand-ins for the application's ports, for fast tests without infrastructure.

Each fake subclasses its port explicitly, so mypy checks it against the Protocol and a change
to a port breaks the fakes loudly instead of leaving them silently out of date.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self
from uuid import UUID

from application.errors import (
    ConcurrentUpdate,
    EmailAlreadyRegistered,
    InvalidToken,
    StorageUnavailable,
)
from application.ports import (
    AccessToken,
    AccessTokenClaims,
    Clock,
    IdGenerator,
    PasswordHasher,
    PasswordVerification,
    TokenIssuer,
    TokenVerifier,
    UnitOfWork,
    UserRepository,
)
from application.ports.persistence import UserFilter
from application.ports.rate_limiting import (
    RateLimiter,
    RateLimitObserver,
    RateLimitPolicy,
    RateLimitStatus,
)
from domain.users import EmailAddress, HashedPassword, Role, User, UserId

DEFAULT_NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def _detached(user: User) -> User:
    # Value objects are immutable, so a shallow copy fully separates the caller's entity from
    # the stored one: mutating what a test or use case holds cannot bypass update()/commit().
    return dataclasses.replace(user)


class InMemoryUserRepository(UserRepository):
    """A user table in a dict, with the uniqueness and versioning rules of the real one."""

    def __init__(self, users: Iterable[User] = ()) -> None:
        self._rows: dict[UserId, User] = {}
        for user in users:
            self._insert(user)

    def seed(self, *users: User) -> None:
        """Store users directly, as test setup, under the same uniqueness rules as add()."""
        for user in users:
            self._insert(user)

    def clone(self) -> InMemoryUserRepository:
        """An independent copy, used as a transaction's working set."""
        return InMemoryUserRepository(self._rows.values())

    def all(self) -> list[User]:
        """Every stored user in id order, detached from storage."""
        return [_detached(u) for u in sorted(self._rows.values(), key=lambda u: u.id)]

    def find(self, user_id: UserId) -> User | None:
        """Synchronous lookup for assertions in tests."""
        row = self._rows.get(user_id)
        return None if row is None else _detached(row)

    def _insert(self, user: User) -> None:
        if user.id in self._rows:
            raise ValueError(f"A user with id {user.id} is already stored.")
        if any(row.email == user.email for row in self._rows.values()):
            raise EmailAlreadyRegistered("An account with this email exists.")
        self._rows[user.id] = _detached(user)

    async def get_by_id(self, user_id: UserId, *, for_update: bool = False) -> User | None:
        return self.find(user_id)

    async def get_by_email(self, email: EmailAddress) -> User | None:
        # EmailAddress compares by its normalized form, which gives the case-insensitive match.
        for row in self._rows.values():
            if row.email == email:
                return _detached(row)
        return None

    async def add(self, user: User) -> None:
        self._insert(user)

    async def update(self, user: User) -> None:
        stored = self._rows.get(user.id)
        if stored is None or stored.version != user.version:
            raise ConcurrentUpdate("The user changed or vanished since it was read.")
        if any(row.email == user.email and row.id != user.id for row in self._rows.values()):
            raise EmailAlreadyRegistered("An account with this email exists.")
        # The caller's entity carries the new version too, as the port promises, so it can be
        # returned as the current state (its version is the next ETag).
        user.version += 1
        self._rows[user.id] = _detached(user)

    async def list_page(self, query: UserFilter) -> list[User]:
        matches = [
            row
            for row in sorted(self._rows.values(), key=lambda u: u.id)
            if (query.after is None or row.id > query.after)
            and (query.role is None or row.role is query.role)
            and (query.is_active is None or row.is_active is query.is_active)
            and (query.email is None or row.email == query.email)
        ]
        return [_detached(row) for row in matches[: query.limit]]

    async def lock_active_admin_ids(self) -> list[UserId]:
        return sorted(row.id for row in self._rows.values() if row.is_active_admin)


class FakeUnitOfWork(UnitOfWork):
    """A transaction over an `InMemoryUserRepository`.

    Inside the block, `users` is a private working copy; `commit()` publishes it and leaving
    the block discards whatever was not committed. The same instance can be entered again and
    again (not concurrently), so one `FakeUnitOfWork` can serve every unit a use case opens.
    `committed` tells whether the most recent unit committed.
    """

    users: InMemoryUserRepository

    def __init__(self, users: Iterable[User] = ()) -> None:
        self.store = InMemoryUserRepository(users)
        self.users = self.store
        self.committed = False
        self.commit_count = 0
        self._active = False

    @property
    def in_transaction(self) -> bool:
        """Whether a unit is open now: lets a test see that slow work happens outside one."""
        return self._active

    def factory(self) -> FakeUnitOfWork:
        """Use as the `UnitOfWorkFactory` a use case takes."""
        return self

    async def __aenter__(self) -> Self:
        if self._active:
            raise RuntimeError("FakeUnitOfWork does not support nested or concurrent units.")
        self._active = True
        self.committed = False
        self.users = self.store.clone()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Uncommitted writes die with the working copy; outside a unit, reads see the store.
        self._active = False
        self.users = self.store

    async def commit(self) -> None:
        if not self._active:
            raise RuntimeError("commit() outside of a unit of work.")
        self.store = self.users.clone()
        self.committed = True
        self.commit_count += 1


class FixedClock(Clock):
    """A clock that only moves when the test says so."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class SequentialIds(IdGenerator):
    """Ascending UUIDs, so the id (keyset) order of users equals their creation order."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def new_id(self) -> UUID:
        value = UUID(int=self._next)
        self._next += 1
        return value


class FakePasswordHasher(PasswordHasher):
    """Deterministic, instant hashes shaped like PHC strings: `$fake$<params>$<hex>`.

    `params` stands for the cost settings: when a stored hash was made with other params than
    the current ones, a successful `verify` offers an upgraded hash, like a real hasher does
    after the deployment raises the cost. The counters let tests show that a path paid for a
    verification (timing equalization is behaviour, not an implementation detail).
    """

    def __init__(self, params: str = "v1") -> None:
        self.params = params
        self.hash_calls = 0
        self.verify_calls = 0
        self.dummy_calls = 0

    @property
    def verifications(self) -> int:
        """Every verification that costs time, real or dummy."""
        return self.verify_calls + self.dummy_calls

    def hash_now(self, password: str, params: str | None = None) -> HashedPassword:
        """Synchronous, uncounted hash for building test data."""
        return HashedPassword(f"$fake${params or self.params}${password.encode().hex()}")

    async def hash(self, password: str) -> HashedPassword:
        self.hash_calls += 1
        return self.hash_now(password)

    async def verify(self, password: str, hashed: HashedPassword) -> PasswordVerification:
        self.verify_calls += 1
        parts = hashed.value.split("$")
        if len(parts) != 4 or parts[1] != "fake" or parts[3] != password.encode().hex():
            return PasswordVerification(valid=False)
        upgraded = self.hash_now(password) if parts[2] != self.params else None
        return PasswordVerification(valid=True, upgraded_hash=upgraded)

    async def verify_dummy(self, password: str) -> None:
        self.dummy_calls += 1


class FakeTokens(TokenIssuer, TokenVerifier):
    """Opaque tokens backed by a table of claims; expiry is judged by the shared clock."""

    def __init__(self, clock: Clock, ttl: timedelta = timedelta(minutes=15)) -> None:
        self._clock = clock
        self._ttl = ttl
        self._claims: dict[str, AccessTokenClaims] = {}
        self._serial = 0

    def issue_access_token(self, user: User, now: datetime) -> AccessToken:
        return self.issue_for_claims(subject=user.id, role=user.role, issued_at=now)

    def issue_for_claims(
        self, *, subject: UserId, role: Role | None, issued_at: datetime | None = None
    ) -> AccessToken:
        """A token saying whatever the test needs, e.g. a stale role or a vanished subject."""
        self._serial += 1
        issued_at = issued_at or self._clock.now()
        value = f"fake-token-{self._serial}"
        claims = AccessTokenClaims(
            subject=subject,
            role=role,
            token_id=UUID(int=self._serial),
            issued_at=issued_at,
            expires_at=issued_at + self._ttl,
        )
        self._claims[value] = claims
        return AccessToken(
            value=value, expires_in=int(self._ttl.total_seconds()), expires_at=claims.expires_at
        )

    def claims_of(self, token: str) -> AccessTokenClaims:
        """What a token says, without the expiry check."""
        return self._claims[token]

    def verify_access_token(self, token: str) -> AccessTokenClaims:
        claims = self._claims.get(token)
        if claims is None:
            raise InvalidToken("Unknown token.")
        if self._clock.now() >= claims.expires_at:
            raise InvalidToken("The token has expired.")
        return claims


class FakeRateLimiter(RateLimiter):
    """Counters in a dict whose windows never move; `broken` makes it fail like a dead store.

    `reset_after` is what every status reports as the wait until its window moves on
    (the policy's whole window unless a test sets it).
    """

    def __init__(self, reset_after: float | None = None) -> None:
        self.counts: dict[str, int] = {}
        self.broken = False
        self.reset_after = reset_after

    async def hit(self, policy: RateLimitPolicy, key: str) -> RateLimitStatus:
        await self.check()
        count = self.counts.get(key, 0)
        allowed = count < policy.limit
        if allowed:
            count += 1
            self.counts[key] = count
        reset_after = self.reset_after
        return RateLimitStatus(
            policy=policy,
            allowed=allowed,
            remaining=policy.limit - count,
            reset_after=float(policy.window_seconds) if reset_after is None else reset_after,
        )

    async def check(self) -> None:
        if self.broken:
            raise StorageUnavailable("The fake rate-limit store is down.")


class RecordingRateLimitObserver(RateLimitObserver):
    """Keeps every storage failure it hears of, with whether the throttle failed open."""

    def __init__(self) -> None:
        self.failures: list[tuple[StorageUnavailable, bool]] = []

    def storage_unavailable(self, error: StorageUnavailable, *, failed_open: bool) -> None:
        self.failures.append((error, failed_open))
