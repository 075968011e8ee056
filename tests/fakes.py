"""In-memory stand-ins for the application's ports, for fast tests without infrastructure.

Each fake subclasses its port explicitly, so mypy checks it against the Protocol and a change
to a port breaks the fakes loudly instead of leaving them silently out of date.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self
from urllib.parse import unquote
from uuid import UUID

from application.audit import AuditEvents
from application.errors import (
    ConcurrentUpdate,
    EmailAlreadyRegistered,
    ExternalIdentityTaken,
    InvalidToken,
    SecondFactorUnavailable,
    StorageNotMigrated,
    StorageUnavailable,
)
from application.mail_links import LinkSettings, MailLinks
from application.ports import (
    AccessToken,
    AccessTokenClaims,
    ApiKeyRepository,
    AuditEventFilter,
    AuditLog,
    ClientAccessTokenClaims,
    ClientRepository,
    ClientTokens,
    Clock,
    ExternalIdentity,
    ExternalIdentityLink,
    ExternalIdentityRepository,
    ExternalTokenVerifier,
    GeneratedKeyPair,
    IdGenerator,
    KeyPairGenerator,
    MfaChallengeRepository,
    OneTimePasswords,
    OneTimeTokenRepository,
    PasswordHasher,
    PasswordVerification,
    PrincipalReader,
    Pseudonymizer,
    RefreshTokenRepository,
    SecondFactorRepository,
    SecretBox,
    SecretGenerator,
    SessionRepository,
    SigningKeyRepository,
    SigningKeyring,
    TokenIssuer,
    TokenVerifier,
    UnitOfWork,
    UnsealedSigningKey,
    UserRepository,
)
from application.ports.mail import MailDeliveryObserver, Mailer, MailNotSent
from application.ports.persistence import (
    DatabaseProbe,
    MailBacklog,
    Outbox,
    QueuedMail,
    UserFilter,
)
from application.ports.rate_limiting import (
    Charge,
    MailQuota,
    RateLimiter,
    RateLimitObserver,
    RateLimitPolicy,
    RateLimitStatus,
)
from domain.audit import AuditEvent, without_personal_data
from domain.clients import Client, ClientId, Scope
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
        self.on_delete: Callable[[UserId], None] | None = None
        """What else a deletion removes: the unit of work's cascade over its other stores."""
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

    async def get_by_id(
        self, user_id: UserId, *, for_update: bool = False, for_share: bool = False
    ) -> User | None:
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

    async def delete(self, user_id: UserId) -> None:
        self._rows.pop(user_id, None)
        if self.on_delete is not None:
            self.on_delete(user_id)


class InMemorySessionRepository(SessionRepository):
    """Sessions in a dict; entities are copied in and out like rows."""

    def __init__(self, sessions: Iterable[Session] = ()) -> None:
        self.sessions = {s.id: dataclasses.replace(s) for s in sessions}
        self.on_purge: Callable[[set[SessionId]], None] | None = None
        """What else a purge removes: the unit of work's cascade to refresh tokens."""

    def clone(self) -> InMemorySessionRepository:
        return InMemorySessionRepository(self.sessions.values())

    async def add(self, session: Session) -> None:
        if session.id in self.sessions:
            raise ValueError("duplicate session id")
        self.sessions[session.id] = dataclasses.replace(session)

    async def get(self, session_id: SessionId, *, for_update: bool = False) -> Session | None:
        session = self.sessions.get(session_id)
        return None if session is None else dataclasses.replace(session)

    async def update(self, session: Session) -> None:
        stored = self.sessions[session.id]
        self.sessions[session.id] = dataclasses.replace(
            stored, last_used_at=session.last_used_at, ended_at=session.ended_at
        )

    async def list_for(
        self, user_id: UserId, *, usable_at: datetime | None = None
    ) -> list[Session]:
        mine = [
            s
            for s in self.sessions.values()
            if s.user_id == user_id and (usable_at is None or s.is_usable(usable_at))
        ]
        mine.sort(key=lambda s: (s.created_at, s.id), reverse=True)
        return [dataclasses.replace(s) for s in mine]

    async def end_all_of(
        self, user_id: UserId, now: datetime, *, keep: SessionId | None = None
    ) -> int:
        live = [
            s
            for s in self.sessions.values()
            if s.user_id == user_id and not s.is_ended and s.id != keep
        ]
        for session in live:
            session.end(now)
        return len(live)

    async def purge_ended(self, now: datetime) -> int:
        ended = {k for k, s in self.sessions.items() if not s.is_usable(now)}
        self.sessions = {k: s for k, s in self.sessions.items() if k not in ended}
        if self.on_purge is not None:
            self.on_purge(ended)
        return len(ended)


class InMemoryRefreshTokenRepository(RefreshTokenRepository):
    """Tokens in a dict; entities are copied in and out like rows."""

    def __init__(self, tokens: Iterable[RefreshToken] = ()) -> None:
        self.tokens = {t.id: dataclasses.replace(t) for t in tokens}

    def clone(self) -> InMemoryRefreshTokenRepository:
        return InMemoryRefreshTokenRepository(self.tokens.values())

    async def add(self, token: RefreshToken) -> None:
        if token.id in self.tokens or any(t.digest == token.digest for t in self.tokens.values()):
            raise ValueError("duplicate refresh token")
        self.tokens[token.id] = dataclasses.replace(token)

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> RefreshToken | None:
        for token in self.tokens.values():
            if token.digest == digest:
                return dataclasses.replace(token)
        return None

    async def update(self, token: RefreshToken) -> None:
        self.tokens[token.id] = dataclasses.replace(token)


class InMemorySecondFactorRepository(SecondFactorRepository):
    """TOTP factors by user; entities are copied in and out like rows."""

    def __init__(self, factors: Iterable[TotpFactor] = ()) -> None:
        self.factors = {f.user_id: _copied_factor(f) for f in factors}

    def clone(self) -> InMemorySecondFactorRepository:
        return InMemorySecondFactorRepository(self.factors.values())

    async def get(self, user_id: UserId, *, for_update: bool = False) -> TotpFactor | None:
        factor = self.factors.get(user_id)
        return None if factor is None else _copied_factor(factor)

    async def save(self, factor: TotpFactor) -> None:
        self.factors[factor.user_id] = _copied_factor(factor)

    async def delete(self, user_id: UserId) -> None:
        self.factors.pop(user_id, None)


def _copied_factor(factor: TotpFactor) -> TotpFactor:
    return dataclasses.replace(factor, recovery_codes=list(factor.recovery_codes))


class InMemoryMfaChallengeRepository(MfaChallengeRepository):
    """Challenges in a dict; entities are copied in and out like rows."""

    def __init__(self, challenges: Iterable[MfaChallenge] = ()) -> None:
        self.challenges = {c.id: dataclasses.replace(c) for c in challenges}

    def clone(self) -> InMemoryMfaChallengeRepository:
        return InMemoryMfaChallengeRepository(self.challenges.values())

    async def add(self, challenge: MfaChallenge) -> None:
        if challenge.id in self.challenges:
            raise ValueError("duplicate challenge id")
        self.challenges[challenge.id] = dataclasses.replace(challenge)

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> MfaChallenge | None:
        for challenge in self.challenges.values():
            if challenge.digest == digest:
                return dataclasses.replace(challenge)
        return None

    async def update(self, challenge: MfaChallenge) -> None:
        self.challenges[challenge.id] = dataclasses.replace(challenge)

    async def purge_expired(self, now: datetime) -> int:
        expired = [k for k, c in self.challenges.items() if c.expires_at <= now]
        for key in expired:
            del self.challenges[key]
        return len(expired)


class InMemoryApiKeyRepository(ApiKeyRepository):
    """API keys in a dict, with the real table's unique prefix."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self.keys = {k.id: dataclasses.replace(k) for k in keys}
        self.use_writes = 0

    def clone(self) -> InMemoryApiKeyRepository:
        copy = InMemoryApiKeyRepository(self.keys.values())
        copy.use_writes = self.use_writes
        return copy

    async def add(self, key: ApiKey) -> None:
        if any(k.prefix == key.prefix for k in self.keys.values()):
            raise ValueError("duplicate prefix")
        self.keys[key.id] = dataclasses.replace(key)

    async def get(self, key_id: ApiKeyId) -> ApiKey | None:
        key = self.keys.get(key_id)
        return None if key is None else dataclasses.replace(key)

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        """For `FakePrincipalReader`: the real lookup by prefix lives in the principal reader."""
        for key in self.keys.values():
            if key.prefix == prefix:
                return dataclasses.replace(key)
        return None

    async def list_page(
        self, user_id: UserId, *, limit: int, after: ApiKeyId | None = None
    ) -> list[ApiKey]:
        mine = [
            k
            for k in self.keys.values()
            if k.user_id == user_id and (after is None or k.id > after)
        ]
        return [dataclasses.replace(k) for k in sorted(mine, key=lambda k: k.id)[: max(limit, 0)]]

    async def count_for(self, user_id: UserId) -> int:
        return sum(1 for k in self.keys.values() if k.user_id == user_id)

    async def delete(self, key_id: ApiKeyId) -> None:
        self.keys.pop(key_id, None)

    async def delete_all_of(self, user_id: UserId) -> int:
        mine = [k for k, v in self.keys.items() if v.user_id == user_id]
        for key_id in mine:
            del self.keys[key_id]
        return len(mine)

    async def record_use(self, key: ApiKey) -> None:
        self.use_writes += 1
        self.keys[key.id] = dataclasses.replace(self.keys[key.id], last_used_at=key.last_used_at)


class InMemoryClientRepository(ClientRepository):
    """Clients in a dict, in registration order."""

    def __init__(self, clients: Iterable[Client] = ()) -> None:
        self.clients = {c.id: dataclasses.replace(c) for c in clients}

    def clone(self) -> InMemoryClientRepository:
        return InMemoryClientRepository(self.clients.values())

    async def add(self, client: Client) -> None:
        if client.id in self.clients:
            raise ValueError("duplicate client id")
        self.clients[client.id] = dataclasses.replace(client)

    async def get(self, client_id: ClientId) -> Client | None:
        client = self.clients.get(client_id)
        return None if client is None else dataclasses.replace(client)

    async def list_all(self) -> list[Client]:
        ordered = sorted(self.clients.values(), key=lambda c: (c.created_at, c.id))
        return [dataclasses.replace(c) for c in ordered]

    async def delete(self, client_id: ClientId) -> bool:
        return self.clients.pop(client_id, None) is not None


class InMemoryOneTimeTokenRepository(OneTimeTokenRepository):
    """One-time tokens in a dict, with the real table's unique digest."""

    def __init__(self, tokens: Iterable[OneTimeToken] = (), rehearsals: int = 0) -> None:
        self.tokens = {t.id: dataclasses.replace(t) for t in tokens}
        self.rehearsals = rehearsals
        """How many `rehearse_add` calls ran: the equal-work paths' statements."""

    def clone(self) -> InMemoryOneTimeTokenRepository:
        return InMemoryOneTimeTokenRepository(self.tokens.values(), self.rehearsals)

    def of(self, user_id: UserId, purpose: TokenPurpose) -> list[OneTimeToken]:
        """The stored tokens of one user and purpose, for assertions."""
        return [t for t in self.tokens.values() if t.user_id == user_id and t.purpose is purpose]

    async def add(self, token: OneTimeToken) -> None:
        if token.id in self.tokens or any(t.digest == token.digest for t in self.tokens.values()):
            raise ValueError("duplicate one-time token")
        self.tokens[token.id] = dataclasses.replace(token)

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> OneTimeToken | None:
        for token in self.tokens.values():
            if token.digest == digest:
                return dataclasses.replace(token)
        return None

    async def update(self, token: OneTimeToken) -> None:
        self.tokens[token.id] = dataclasses.replace(token)

    async def rehearse_add(self, token: OneTimeToken) -> None:
        self.rehearsals += 1

    async def delete_for(self, user_id: UserId, purpose: TokenPurpose) -> int:
        doomed = [t.id for t in self.of(user_id, purpose)]
        for token_id in doomed:
            del self.tokens[token_id]
        return len(doomed)


class InMemoryExternalIdentityRepository(ExternalIdentityRepository):
    """(issuer, subject) → user id links."""

    def __init__(
        self,
        links: dict[tuple[str, str], UserId] | None = None,
        linked_at: dict[tuple[str, str], datetime] | None = None,
    ) -> None:
        self.links = dict(links or {})
        self.linked_at = dict(linked_at or {})

    def clone(self) -> InMemoryExternalIdentityRepository:
        return InMemoryExternalIdentityRepository(self.links, self.linked_at)

    async def list_for(self, user_id: UserId) -> list[ExternalIdentityLink]:
        return sorted(
            (
                ExternalIdentityLink(
                    issuer=issuer,
                    subject=subject,
                    user_id=owner,
                    created_at=self.linked_at.get((issuer, subject), DEFAULT_NOW),
                )
                for (issuer, subject), owner in self.links.items()
                if owner == user_id
            ),
            key=lambda link: link.created_at,
        )

    async def find_user_id(self, issuer: str, subject: str) -> UserId | None:
        return self.links.get((issuer, subject))

    async def link(self, issuer: str, subject: str, user_id: UserId, now: datetime) -> None:
        if (issuer, subject) in self.links:
            raise ExternalIdentityTaken("linked already")
        self.links[(issuer, subject)] = user_id
        self.linked_at[(issuer, subject)] = now


class InMemoryAuditLog(AuditLog):
    """Events in a list, in the order they were recorded."""

    def __init__(self, events: Iterable[AuditEvent] = ()) -> None:
        self.events = list(events)

    def clone(self) -> InMemoryAuditLog:
        return InMemoryAuditLog(self.events)

    def of_type(self, event_type: str) -> list[AuditEvent]:
        """The recorded events of one type, oldest first, for assertions in tests."""
        return [event for event in self.events if event.type == event_type]

    async def record(self, event: AuditEvent) -> None:
        if any(stored.id == event.id for stored in self.events):
            raise ValueError(f"An audit event with id {event.id} is already stored.")
        self.events.append(event)

    async def list_page(self, query: AuditEventFilter) -> list[AuditEvent]:
        newest_first = sorted(self.events, key=lambda e: (e.occurred_at, e.id), reverse=True)
        matches = [
            event
            for event in newest_first
            if (query.before is None or (event.occurred_at, event.id) < query.before)
            and (query.actor_id is None or event.actor_id == query.actor_id)
            and (query.subject_id is None or event.subject_id == query.subject_id)
            and (query.type is None or event.type == query.type)
            and (query.since is None or event.occurred_at >= query.since)
            and (query.until is None or event.occurred_at < query.until)
        ]
        return matches[: query.limit]

    async def forget_personal_data(self, subject_id: UserId) -> int:
        changed = 0
        for index, event in enumerate(self.events):
            details = without_personal_data(dict(event.details))
            if event.subject_id == subject_id and details != event.details:
                assert isinstance(details, dict)
                self.events[index] = dataclasses.replace(event, details=details)
                changed += 1
        return changed

    async def purge_older_than(self, cutoff: datetime) -> int:
        kept = [event for event in self.events if event.occurred_at >= cutoff]
        purged = len(self.events) - len(kept)
        self.events = kept
        return purged


@dataclasses.dataclass
class OutboxEntry:
    """One queued message and its delivery state, as the `mail_outbox` row holds it."""

    message: MailMessage
    next_attempt_at: datetime | None
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    values_kept: bool = True


class InMemoryOutbox(Outbox):
    """Queued mail in a list, in the order it was added, with each message's delivery state."""

    def __init__(
        self, messages: Iterable[MailMessage] = (), entries: Iterable[OutboxEntry] = ()
    ) -> None:
        self.messages = list(messages)
        self.entries = {entry.message.id: dataclasses.replace(entry) for entry in entries}

    def clone(self) -> InMemoryOutbox:
        return InMemoryOutbox(self.messages, self.entries.values())

    async def add(self, message: MailMessage) -> None:
        self.messages.append(message)
        self.entries[message.id] = OutboxEntry(message, next_attempt_at=message.created_at)

    def to(self, address: str) -> list[MailMessage]:
        """The queued messages to one address (compared case-insensitively), for assertions."""
        return [m for m in self.messages if m.to.normalized == address.casefold()]

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[QueuedMail]:
        due = sorted(
            (
                e
                for e in self.entries.values()
                if e.sent_at is None and e.next_attempt_at is not None and e.next_attempt_at <= now
            ),
            key=lambda e: (e.next_attempt_at, e.message.id),
        )[:limit]
        for entry in due:
            entry.next_attempt_at = lease_until
        return [QueuedMail(entry.message, entry.attempts) for entry in due]

    async def record_sent(self, message_id: MailMessageId, now: datetime) -> None:
        entry = self.entries[message_id]
        entry.sent_at, entry.next_attempt_at, entry.last_error = now, None, None
        entry.attempts += 1
        entry.values_kept = False

    async def record_failure(
        self, message_id: MailMessageId, error: str, retry_at: datetime | None
    ) -> None:
        entry = self.entries[message_id]
        entry.attempts += 1
        entry.last_error, entry.next_attempt_at = error, retry_at
        if retry_at is None:
            entry.values_kept = False

    async def release(self, message_ids: Sequence[MailMessageId], due_at: datetime) -> None:
        for message_id in message_ids:
            if self.entries[message_id].sent_at is None:
                self.entries[message_id].next_attempt_at = due_at

    async def backlog(self) -> MailBacklog:
        pending = [
            e for e in self.entries.values() if e.sent_at is None and e.next_attempt_at is not None
        ]
        counts: dict[MailKind, int] = {}
        for entry in pending:
            counts[entry.message.kind] = counts.get(entry.message.kind, 0) + 1
        oldest = min((e.message.created_at for e in pending), default=None)
        return MailBacklog(counts, oldest)


class InMemorySigningKeyRepository(SigningKeyRepository):
    """Keys by kid; a second key of an existing generation is refused as a racing rotation."""

    def __init__(self) -> None:
        self.keys: dict[str, SigningKey] = {}

    def clone(self) -> InMemorySigningKeyRepository:
        copy = InMemorySigningKeyRepository()
        copy.keys = {kid: dataclasses.replace(key) for kid, key in self.keys.items()}
        return copy

    async def list_all(self) -> list[SigningKey]:
        return [dataclasses.replace(key) for key in self.keys.values()]

    async def add(self, key: SigningKey) -> None:
        if any(k.generation == key.generation for k in self.keys.values()):
            raise ConcurrentUpdate("Another rotation added a signing key first.")
        self.keys[key.kid] = dataclasses.replace(key)

    async def update(self, key: SigningKey) -> None:
        self.keys[key.kid] = dataclasses.replace(key)

    async def version(self) -> str:
        return repr(
            sorted((k.kid, k.retired_at, k.sealed_private_key is None) for k in self.keys.values())
        )


class FakeKeyPairs(KeyPairGenerator):
    """Numbered fake pairs: kid `k1`, `k2`, ..., private key `private-kN`."""

    def __init__(self) -> None:
        self.made = 0

    def generate(self, algorithm: str) -> GeneratedKeyPair:
        self.made += 1
        return GeneratedKeyPair(
            kid=f"k{self.made}",
            public_jwk={"kty": "OKP", "crv": "Ed25519", "x": f"x{self.made}"},
            private_key=f"private-k{self.made}".encode(),
        )


class RecordingKeyring(SigningKeyring):
    """Remembers what was installed last."""

    def __init__(self) -> None:
        self.installed: list[UnsealedSigningKey] = []
        self.installs = 0

    def install(self, keys: Sequence[UnsealedSigningKey], now: datetime) -> None:
        self.installed = list(keys)
        self.installs += 1


class FakeUnitOfWork(UnitOfWork):
    """A transaction over in-memory repositories.

    Inside the block, each repository is a private working copy; `commit()` publishes them and
    leaving the block discards whatever was not committed. The same instance can be entered
    again and again (not concurrently), so one `FakeUnitOfWork` can serve every unit a use case
    opens. `committed` tells whether the most recent unit committed.
    """

    users: InMemoryUserRepository
    sessions: InMemorySessionRepository
    refresh_tokens: InMemoryRefreshTokenRepository
    api_keys: InMemoryApiKeyRepository
    external_identities: InMemoryExternalIdentityRepository
    one_time_tokens: InMemoryOneTimeTokenRepository
    audit: InMemoryAuditLog
    outbox: InMemoryOutbox
    second_factors: InMemorySecondFactorRepository
    mfa_challenges: InMemoryMfaChallengeRepository
    clients: InMemoryClientRepository
    signing_keys: InMemorySigningKeyRepository

    def __init__(self, users: Iterable[User] = ()) -> None:
        self.store = InMemoryUserRepository(users)
        self.session_store = InMemorySessionRepository()
        self.refresh_store = InMemoryRefreshTokenRepository()
        self.api_key_store = InMemoryApiKeyRepository()
        self.external_store = InMemoryExternalIdentityRepository()
        self.one_time_store = InMemoryOneTimeTokenRepository()
        self.audit_store = InMemoryAuditLog()
        self.outbox_store = InMemoryOutbox()
        self.factor_store = InMemorySecondFactorRepository()
        self.challenge_store = InMemoryMfaChallengeRepository()
        self.client_store = InMemoryClientRepository()
        self.signing_key_store = InMemorySigningKeyRepository()
        self._publish()
        self.committed = False
        self.commit_count = 0
        self._active = False

    def _publish(self) -> None:
        self.users = self.store
        self.sessions = self.session_store
        self.refresh_tokens = self.refresh_store
        self.api_keys = self.api_key_store
        self.external_identities = self.external_store
        self.one_time_tokens = self.one_time_store
        self.audit = self.audit_store
        self.outbox = self.outbox_store
        self.second_factors = self.factor_store
        self.mfa_challenges = self.challenge_store
        self.clients = self.client_store
        self.signing_keys = self.signing_key_store

    @property
    def in_transaction(self) -> bool:
        """Whether a unit is open now: lets a test see that slow work happens outside one."""
        return self._active

    def factory(self) -> FakeUnitOfWork:
        """Use as the `UnitOfWorkFactory` a use case takes."""
        return self

    @property
    def reader(self) -> InMemoryPrincipalReader:
        """A `PrincipalReader` over what this unit of work has committed."""
        return InMemoryPrincipalReader(self)

    async def __aenter__(self) -> Self:
        if self._active:
            raise RuntimeError("FakeUnitOfWork does not support nested or concurrent units.")
        self._active = True
        self.committed = False
        self.users = self.store.clone()
        self.users.on_delete = self._cascade
        self.sessions = self.session_store.clone()
        self.sessions.on_purge = self._purge_tokens
        self.refresh_tokens = self.refresh_store.clone()
        self.api_keys = self.api_key_store.clone()
        self.external_identities = self.external_store.clone()
        self.one_time_tokens = self.one_time_store.clone()
        self.audit = self.audit_store.clone()
        self.outbox = self.outbox_store.clone()
        self.second_factors = self.factor_store.clone()
        self.mfa_challenges = self.challenge_store.clone()
        self.clients = self.client_store.clone()
        self.signing_keys = self.signing_key_store.clone()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Uncommitted writes die with the working copy; outside a unit, reads see the store.
        self._active = False
        self._publish()

    async def commit(self) -> None:
        if not self._active:
            raise RuntimeError("commit() outside of a unit of work.")
        self.store = self.users.clone()
        self.session_store = self.sessions.clone()
        self.refresh_store = self.refresh_tokens.clone()
        self.api_key_store = self.api_keys.clone()
        self.external_store = self.external_identities.clone()
        self.one_time_store = self.one_time_tokens.clone()
        self.audit_store = self.audit.clone()
        self.outbox_store = self.outbox.clone()
        self.factor_store = self.second_factors.clone()
        self.challenge_store = self.mfa_challenges.clone()
        self.client_store = self.clients.clone()
        self.signing_key_store = self.signing_keys.clone()
        self.committed = True
        self.commit_count += 1

    def _purge_tokens(self, session_ids: set[SessionId]) -> None:
        self.refresh_tokens.tokens = {
            k: t for k, t in self.refresh_tokens.tokens.items() if t.session_id not in session_ids
        }

    def _cascade(self, user_id: UserId) -> None:
        """The foreign keys' ON DELETE CASCADE, over this unit's working copies."""
        self.sessions.sessions = {
            k: s for k, s in self.sessions.sessions.items() if s.user_id != user_id
        }
        self.refresh_tokens.tokens = {
            k: t for k, t in self.refresh_tokens.tokens.items() if t.user_id != user_id
        }
        self.api_keys.keys = {k: v for k, v in self.api_keys.keys.items() if v.user_id != user_id}
        self.external_identities.links = {
            k: v for k, v in self.external_identities.links.items() if v != user_id
        }
        self.second_factors.factors.pop(user_id, None)
        self.mfa_challenges.challenges = {
            k: c for k, c in self.mfa_challenges.challenges.items() if c.user_id != user_id
        }
        self.one_time_tokens.tokens = {
            k: t for k, t in self.one_time_tokens.tokens.items() if t.user_id != user_id
        }


class InMemoryPrincipalReader(PrincipalReader):
    """Reads the committed state of a `FakeUnitOfWork`, as the real reader reads outside one."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def user_with_open_session(
        self, user_id: UserId, session_id: SessionId | None
    ) -> tuple[User | None, bool]:
        user = await self._uow.store.get_by_id(user_id)
        if user is None or session_id is None:
            return user, False
        session = await self._uow.session_store.get(session_id)
        return user, session is not None and not session.is_ended and session.belongs_to(user_id)

    async def api_key_with_owner(self, prefix: str) -> tuple[ApiKey | None, User | None]:
        key = await self._uow.api_key_store.get_by_prefix(prefix)
        if key is None:
            return None, None
        return key, await self._uow.store.get_by_id(key.user_id)

    async def client(self, client_id: ClientId) -> Client | None:
        return await self._uow.client_store.get(client_id)


class FakeSecretBox(SecretBox):
    """A reversible, visibly sealed stand-in: tests can see that nothing is stored in clear."""

    def __init__(self, available: bool = True) -> None:
        self.available = available

    def seal(self, plaintext: bytes) -> bytes:
        if not self.available:
            raise SecondFactorUnavailable("No key to seal secrets with.")
        return b"sealed:" + plaintext[::-1]

    def open(self, sealed: bytes) -> bytes:
        if not self.available or not sealed.startswith(b"sealed:"):
            raise SecondFactorUnavailable("Cannot open this secret.")
        return sealed.removeprefix(b"sealed:")[::-1]


def rfc6238_code(secret: str, step: int, digits: int = 6) -> str:
    """RFC 4226 HOTP over HMAC-SHA1, written out here independently of the production code."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


class FakeOneTimePasswords(OneTimePasswords):
    """RFC 6238 codes computed by the test's own few lines (`rfc6238_code`)."""

    def code_at(self, secret: str, step: int) -> str:
        return rfc6238_code(secret, step)

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        return f"otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}"


class FakePseudonymizer(Pseudonymizer):
    """A reversible stand-in: tests can see which value a pseudonym stands for."""

    def pseudonym(self, value: str) -> str:
        return f"pseudonym:{value.encode().hex()}"


_AUDIT_ID_RANGES = itertools.count(1)


def audit_events() -> AuditEvents:
    """An event factory with ids of its own (a range per factory), so recording events shifts
    no other id a test sees, and two factories of one test never give the same id."""
    return AuditEvents(SequentialIds(start=next(_AUDIT_ID_RANGES) << 64))


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


class FakeTokens(TokenIssuer, TokenVerifier, ClientTokens):
    """Opaque tokens backed by a table of claims; expiry is judged by the shared clock.

    A client's tokens read `fake-client-token-N` and are refused as a user's, and the reverse.
    """

    def __init__(self, clock: Clock, ttl: timedelta = timedelta(minutes=15)) -> None:
        self._clock = clock
        self._ttl = ttl
        self._claims: dict[str, AccessTokenClaims] = {}
        self._client_claims: dict[str, ClientAccessTokenClaims] = {}
        self._serial = 0

    async def issue_client_token(
        self, client_id: ClientId, scopes: frozenset[Scope], now: datetime
    ) -> AccessToken:
        self._serial += 1
        value = f"fake-client-token-{self._serial}"
        claims = ClientAccessTokenClaims(
            client_id=client_id,
            scopes=scopes,
            token_id=str(self._serial),
            issued_at=now,
            expires_at=now + self._ttl,
        )
        self._client_claims[value] = claims
        return AccessToken(
            value=value, expires_in=int(self._ttl.total_seconds()), expires_at=claims.expires_at
        )

    def client_claims_of(self, token: str) -> ClientAccessTokenClaims:
        """What a client's token says, without the expiry check."""
        return self._client_claims[token]

    def is_client_token(self, token: str) -> bool:
        return token.startswith("fake-client-token-")

    def verify_client_token(self, token: str) -> ClientAccessTokenClaims:
        claims = self._client_claims.get(token)
        if claims is None:
            raise InvalidToken("Unknown client token.")
        if self._clock.now() >= claims.expires_at:
            raise InvalidToken("The token has expired.")
        return claims

    async def issue_access_token(self, user: User, session: Session, now: datetime) -> AccessToken:
        return self.issue_for_claims(
            subject=user.id,
            role=user.role,
            issued_at=now,
            session_id=session.id,
            auth_time=session.auth_time,
            amr=session.amr,
        )

    def issue_for_claims(
        self,
        *,
        subject: UserId,
        role: Role | None,
        issued_at: datetime | None = None,
        session_id: UUID | None = None,
        auth_time: datetime | None = None,
        amr: tuple[str, ...] = ("pwd",),
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
            session_id=session_id,
            auth_time=auth_time,
            amr=amr,
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


class SequentialSecrets(SecretGenerator):
    """Predictable, distinct "random" secrets, so tests can tell tokens and keys apart."""

    def __init__(self) -> None:
        self._serial = 0

    def token(self, nbytes: int) -> str:
        self._serial += 1
        return f"secret{self._serial:04d}".ljust(max(nbytes, 32), "x")

    def choice(self, alphabet: str, length: int) -> str:
        self._serial += 1
        digits = ""
        value = self._serial
        for _ in range(length):
            value, index = divmod(value, len(alphabet))
            digits += alphabet[index]
        return digits


class FakeExternalTokens(ExternalTokenVerifier):
    """An identity provider's tokens as a table: `ext:<name>` tokens map to identities."""

    def __init__(self, issuer: str = "https://idp.example") -> None:
        self.issuer = issuer
        self.identities: dict[str, ExternalIdentity] = {}

    def add(self, name: str, identity: ExternalIdentity) -> str:
        token = f"ext:{name}"
        self.identities[token] = identity
        return token

    def claims_issuer(self, token: str) -> bool:
        return token.startswith("ext:")

    async def verify(self, token: str) -> ExternalIdentity:
        identity = self.identities.get(token)
        if identity is None:
            raise InvalidToken("Unknown external token.")
        return identity


class FakeRateLimiter(RateLimiter):
    """Counters in a dict whose windows never move; `broken` makes it fail like a dead store.

    `reset_after` is what every status reports as the wait until its window moves on
    (the policy's whole window unless a test sets it).
    """

    def __init__(self, reset_after: float | None = None) -> None:
        self.counts: dict[str, int] = {}
        self.broken = False
        self.reset_after = reset_after

    async def hit_all(self, charges: Sequence[Charge]) -> list[RateLimitStatus]:
        await self.check()
        statuses = []
        for charge in charges:
            status = self._hit(charge.policy, charge.key)
            statuses.append(status)
            if not status.allowed:
                break
        return statuses

    def _hit(self, policy: RateLimitPolicy, key: str) -> RateLimitStatus:
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
        self.refused_mail: list[str] = []

    def storage_unavailable(self, error: StorageUnavailable, *, failed_open: bool) -> None:
        self.failures.append((error, failed_open))

    def mail_refused(self, kind: str) -> None:
        self.refused_mail.append(kind)


class FakeDatabaseProbe(DatabaseProbe):
    """A database whose `state` a test sets: `ok`, `not_migrated` or `unavailable`."""

    def __init__(self, state: str = "ok") -> None:
        self.state = state

    async def check(self) -> None:
        if self.state == "not_migrated":
            raise StorageNotMigrated("The fake database has no schema.")
        if self.state == "unavailable":
            raise StorageUnavailable("The fake database is down.")


class RecordingMailer(Mailer):
    """Keeps every message it was asked to send; `fail_with` makes the next sends fail."""

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []
        self.failures: list[Exception] = []

    def fail_with(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    async def send(self, message: MailMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


class RecordingMailObserver(MailDeliveryObserver):
    """Keeps what the sender reported, by event name."""

    def __init__(self) -> None:
        self.events: list[tuple[str, MailMessageId | None]] = []
        self.pending: Mapping[MailKind, int] = {}
        self.oldest_age: timedelta | None = None
        self.pass_errors: list[Exception] = []

    def sent(self, message: MailMessage, attempts: int) -> None:
        self.events.append(("sent", message.id))

    def failed(self, message: MailMessage, error: MailNotSent, retry_at: datetime) -> None:
        self.events.append(("failed", message.id))

    def gave_up(self, message: MailMessage, error: MailNotSent, attempts: int) -> None:
        self.events.append(("gave_up", message.id))

    def backlog(self, pending: Mapping[MailKind, int], oldest_age: timedelta | None) -> None:
        self.pending, self.oldest_age = pending, oldest_age

    def pass_failed(self, error: Exception) -> None:
        self.pass_errors.append(error)


class FakeMailQuota(MailQuota):
    """`limit` mails per recipient address; remembers what it refused."""

    def __init__(self, limit: int = 1_000) -> None:
        self.limit = limit
        self.spent: dict[str, int] = {}
        self.refused: list[tuple[str, str]] = []

    async def allows(self, recipient: str, kind: str) -> bool:
        spent = self.spent.get(recipient, 0)
        if spent >= self.limit:
            self.refused.append((recipient, kind))
            return False
        self.spent[recipient] = spent + 1
        return True


VERIFY_EMAIL_URL = "https://app.example.com/verify?token={token}"
RESET_PASSWORD_URL = "https://app.example.com/reset?token={token}"


def mail_links(
    quota: MailQuota | None = None,
    *,
    secrets: SecretGenerator | None = None,
    ids: IdGenerator | None = None,
) -> MailLinks:
    """Mailed links with sequential secrets, a 24-hour verification and 30-minute reset TTL."""
    return MailLinks(
        secrets=secrets or SequentialSecrets(),
        ids=ids or SequentialIds(start=next(_AUDIT_ID_RANGES) << 64),
        quota=quota or FakeMailQuota(),
        settings=LinkSettings(
            verify_email_url=VERIFY_EMAIL_URL,
            reset_password_url=RESET_PASSWORD_URL,
            verification_lifetime=timedelta(hours=24),
            reset_lifetime=timedelta(minutes=30),
        ),
    )


def token_of(message: MailMessage) -> str:
    """The token in a queued mail's link, as the person clicking it would send it."""
    return unquote(message.values["link"].rpartition("token=")[2])
