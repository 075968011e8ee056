"""Persistence ports: repositories and the unit of work that makes their writes atomic."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from domain.audit import ActorId, AuditEvent, AuditEventId, AuditEventType
from domain.clients import Client, ClientId
from domain.credentials import (
    ApiKey,
    ApiKeyId,
    OneTimeToken,
    RefreshToken,
    SecretDigest,
    TokenPurpose,
)
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.mfa import MfaChallenge, TotpFactor
from domain.sessions import Session, SessionId
from domain.signing_keys import SigningKey
from domain.users import EmailAddress, Role, User, UserId


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Which users a listing returns, and from where (keyset: ids greater than `after`)."""

    limit: int
    after: UserId | None = None
    role: Role | None = None
    is_active: bool | None = None
    email: EmailAddress | None = None


class UserRepository(Protocol):
    """Stores and finds users; never commits (the unit of work does)."""

    async def get_by_id(
        self, user_id: UserId, *, for_update: bool = False, for_share: bool = False
    ) -> User | None:
        """The user, or None; `for_update` locks the row until the transaction ends.

        `for_share` takes the weaker lock that only keeps the row from being deleted (or its
        key changed) meanwhile: what inserting rows that refer to the user needs first.
        """
        ...

    async def get_by_email(self, email: EmailAddress) -> User | None:
        """The user whose email matches case-insensitively, or None."""
        ...

    async def add(self, user: User) -> None:
        """Insert a new user; raises `EmailAlreadyRegistered` when the email is taken."""
        ...

    async def update(self, user: User) -> None:
        """Write the user's state if its version is unchanged, then bump the version.

        Raises `ConcurrentUpdate` when the stored version moved on since the user was read.
        """
        ...

    async def list_page(self, query: UserFilter) -> list[User]:
        """Up to `query.limit` users matching the filter, in ascending id order."""
        ...

    async def lock_active_admin_ids(self) -> list[UserId]:
        """Ids of every active admin, locked until the transaction ends."""
        ...

    async def delete(self, user_id: UserId) -> None:
        """Remove the user with everything attached: sessions, refresh tokens, API keys,
        external identity links, one-time tokens, the second factor and pending MFA
        challenges."""
        ...


class SessionRepository(Protocol):
    """Stores login sessions."""

    async def add(self, session: Session) -> None:
        """Insert a new session."""
        ...

    async def get(self, session_id: SessionId, *, for_update: bool = False) -> Session | None:
        """The session, or None; `for_update` locks it until the transaction ends."""
        ...

    async def update(self, session: Session) -> None:
        """Write the session's `last_used_at` and `ended_at`."""
        ...

    async def list_for(
        self, user_id: UserId, *, usable_at: datetime | None = None
    ) -> list[Session]:
        """The user's sessions, newest first; only those usable at `usable_at` when given."""
        ...

    async def end_all_of(
        self, user_id: UserId, now: datetime, *, keep: SessionId | None = None
    ) -> int:
        """End every session of the user not ended yet but `keep`; returns how many ended."""
        ...

    async def purge_ended(self, now: datetime) -> int:
        """Delete sessions ended or past their absolute expiry, with their refresh tokens.

        Safe at any time: an access or refresh token of a deleted session is refused exactly
        like one of an ended session. Returns how many sessions were deleted.
        """
        ...


class RefreshTokenRepository(Protocol):
    """Stores the refresh tokens of login sessions, by digest only."""

    async def add(self, token: RefreshToken) -> None:
        """Insert a new token."""
        ...

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> RefreshToken | None:
        """The token with this digest, or None; `for_update` locks it."""
        ...

    async def update(self, token: RefreshToken) -> None:
        """Write the token's `used_at`."""
        ...


class ApiKeyRepository(Protocol):
    """Stores API keys by digest, found by their public prefix."""

    async def add(self, key: ApiKey) -> None:
        """Insert a new key."""
        ...

    async def get(self, key_id: ApiKeyId) -> ApiKey | None:
        """The key with this id, or None."""
        ...

    async def list_page(
        self, user_id: UserId, *, limit: int, after: ApiKeyId | None = None
    ) -> list[ApiKey]:
        """Up to `limit` keys of the user with ids greater than `after`, in ascending id order."""
        ...

    async def count_for(self, user_id: UserId) -> int:
        """How many keys the user holds, expired ones included."""
        ...

    async def delete(self, key_id: ApiKeyId) -> None:
        """Remove the key; it stops working at once."""
        ...

    async def delete_all_of(self, user_id: UserId) -> int:
        """Remove every key of the user; returns how many were removed."""
        ...

    async def record_use(self, key: ApiKey) -> None:
        """Write the key's `last_used_at`."""
        ...


class OneTimeTokenRepository(Protocol):
    """Stores the one-time tokens sent in mailed links, by digest only."""

    async def add(self, token: OneTimeToken) -> None:
        """Insert a new token."""
        ...

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> OneTimeToken | None:
        """The token with this digest, or None; `for_update` locks it."""
        ...

    async def update(self, token: OneTimeToken) -> None:
        """Write the token's `used_at`."""
        ...

    async def delete_for(self, user_id: UserId, purpose: TokenPurpose) -> int:
        """Remove every token of the user for `purpose`, spent or not: none of them works
        afterwards. Returns how many were removed."""
        ...

    async def rehearse_add(self, token: OneTimeToken) -> None:
        """Run the statement `add` runs, storing nothing: the same cost for a path that must
        take as long as one that stores a token (and no account needs to own `token`)."""
        ...


class ClientRepository(Protocol):
    """Stores clients (service accounts), their secrets by digest only."""

    async def add(self, client: Client) -> None:
        """Insert a new client."""
        ...

    async def get(self, client_id: ClientId) -> Client | None:
        """The client with this id, or None."""
        ...

    async def list_all(self) -> list[Client]:
        """Every client, oldest first."""
        ...

    async def delete(self, client_id: ClientId) -> bool:
        """Remove the client (its tokens stop working at once); False when there was none."""
        ...


@dataclass(frozen=True, slots=True)
class ExternalIdentityLink:
    """A subject at an external identity provider, linked to a local user."""

    issuer: str
    subject: str
    user_id: UserId
    created_at: datetime


class SecondFactorRepository(Protocol):
    """Stores each user's TOTP factor, pending or enabled (one per user)."""

    async def get(self, user_id: UserId, *, for_update: bool = False) -> TotpFactor | None:
        """The user's factor, or None; `for_update` locks it, so two checks of one code
        are made one after the other and the second sees the step the first used."""
        ...

    async def save(self, factor: TotpFactor) -> None:
        """Insert the factor, or replace the user's existing one."""
        ...

    async def delete(self, user_id: UserId) -> None:
        """Remove the user's factor, if any."""
        ...


class MfaChallengeRepository(Protocol):
    """Stores the challenges `mfa_token`s stand for, by digest only."""

    async def add(self, challenge: MfaChallenge) -> None:
        """Insert a new challenge."""
        ...

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> MfaChallenge | None:
        """The challenge with this digest, or None; `for_update` locks it."""
        ...

    async def update(self, challenge: MfaChallenge) -> None:
        """Write the challenge's `used_at`."""
        ...

    async def purge_expired(self, now: datetime) -> int:
        """Delete challenges expired before `now`; returns how many."""
        ...


class ExternalIdentityRepository(Protocol):
    """Links a subject at an external identity provider to a local user."""

    async def find_user_id(self, issuer: str, subject: str) -> UserId | None:
        """The local user linked to (issuer, subject), or None."""
        ...

    async def link(self, issuer: str, subject: str, user_id: UserId, now: datetime) -> None:
        """Record the link; raises `ExternalIdentityTaken` when it exists already."""
        ...

    async def list_for(self, user_id: UserId) -> list[ExternalIdentityLink]:
        """Every link of the user, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class AuditEventFilter:
    """Which events a listing returns, newest first, and from where.

    Keyset: events strictly older than `before` (an `(occurred_at, id)` position). `since` is
    inclusive, `until` exclusive.
    """

    limit: int
    before: tuple[datetime, AuditEventId] | None = None
    actor_id: ActorId | None = None
    subject_id: UserId | None = None
    type: AuditEventType | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLog(Protocol):
    """Appends audit events in the unit of work's transaction; never changes one."""

    async def record(self, event: AuditEvent) -> None:
        """Insert the event; it becomes durable with the change it records, or not at all."""
        ...

    async def list_page(self, query: AuditEventFilter) -> list[AuditEvent]:
        """Up to `query.limit` matching events, newest first (by `occurred_at`, then id)."""
        ...

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete events that occurred before `cutoff`; returns how many."""
        ...

    async def forget_personal_data(self, subject_id: UserId) -> int:
        """Strip the email and name from the details of every event about `subject_id`
        (`without_personal_data`), for a deleted account; returns how many events changed."""
        ...


class Outbox(Protocol):
    """Mail written in the transaction of the change that causes it, for a sender to deliver
    after commit: a rollback sends nothing, a commit always leaves its mail behind."""

    async def add(self, message: MailMessage) -> None:
        """Queue the message; it is delivered only if the unit of work commits."""
        ...

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[QueuedMail]:
        """Up to `limit` unsent messages due at `now`, oldest first, held until `lease_until`:
        other senders skip them (rows another transaction holds are skipped, not waited for)."""
        ...

    async def record_sent(self, message_id: MailMessageId, now: datetime) -> None:
        """The message was accepted: mark it sent and forget its values (they may hold a link)."""
        ...

    async def record_failure(
        self, message_id: MailMessageId, error: str, retry_at: datetime | None
    ) -> None:
        """One more failed attempt; due again at `retry_at`, or never (values forgotten)."""
        ...

    async def release(self, message_ids: Sequence[MailMessageId], due_at: datetime) -> None:
        """Hand claimed messages back, untried: due again at `due_at`, attempts unchanged."""
        ...

    async def backlog(self) -> MailBacklog:
        """What is still to be sent: neither sent nor given up."""
        ...


@dataclass(frozen=True, slots=True)
class QueuedMail:
    """A message claimed for sending, with the attempts already made before this one."""

    message: MailMessage
    attempts: int


@dataclass(frozen=True, slots=True)
class MailBacklog:
    """Messages still to be sent, by kind, and when the oldest of them was queued."""

    pending: Mapping[MailKind, int]
    oldest_queued_at: datetime | None


class PrincipalReader(Protocol):
    """Reads an authenticating caller's current state in one round trip, outside a transaction.

    For the hot path of every authenticated request: nothing is written, so nothing needs a
    transaction, and the user and their session (or API key) come back together.
    """

    async def user_with_open_session(
        self, user_id: UserId, session_id: SessionId | None
    ) -> tuple[User | None, bool]:
        """The user, and whether `session_id` names a session of theirs that has not ended
        (False when it does not, or when no session was asked about)."""
        ...

    async def api_key_with_owner(self, prefix: str) -> tuple[ApiKey | None, User | None]:
        """The API key with this public prefix and its owner; (None, None) when there is none."""
        ...

    async def client(self, client_id: ClientId) -> Client | None:
        """The client with this id, or None once it is deleted."""
        ...


class SigningKeyRepository(Protocol):
    """Managed signing keys, one row each; a key's generation is unique."""

    async def list_all(self) -> list[SigningKey]:
        """Every key, expired ones included."""
        ...

    async def add(self, key: SigningKey) -> None:
        """Store a new key; raises `ConcurrentUpdate` (at the latest on commit) when another
        transaction stored a key of the same generation."""
        ...

    async def update(self, key: SigningKey) -> None:
        """Store a key's retirement and the erasure of its private half."""
        ...

    async def version(self) -> str:
        """A cheap token that changes whenever any key is added, retired or erased."""
        ...


class DatabaseProbe(Protocol):
    """Tells whether the database answers and holds the schema."""

    async def check(self) -> None:
        """Raise `StorageNotMigrated` when it has no schema, `StorageUnavailable` when it does
        not answer."""
        ...


class UnitOfWork(Protocol):
    """One transaction: leaving the block without `commit()` rolls everything back."""

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

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make every write of this unit durable."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Makes a fresh unit of work; use cases hold the factory so they can be shared singletons."""
