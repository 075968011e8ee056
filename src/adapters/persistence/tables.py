"""The relational schema, as SQLAlchemy Core tables; rows are mapped to domain objects by hand."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

# Deterministic constraint names, so migrations can refer to (and drop) them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EMAIL_UNIQUE_INDEX = "uq_users_email_lower"
"""The index that makes emails unique regardless of case; error translation looks for it."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)

users = Table(
    "users",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("full_name", String(200), nullable=False, default="", server_default=""),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean(), nullable=False),
    Column("password_hash", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("mfa_enabled", Boolean(), nullable=False, default=False, server_default=false()),
    Column("email_verified", Boolean(), nullable=False, default=False, server_default=false()),
    CheckConstraint("role IN ('user', 'admin')", name="role"),
)

# The database, not a read-then-insert in Python, is what keeps two racing registrations of
# "A@x.io" and "a@x.io" apart; a functional index is portable between SQLite and PostgreSQL.
Index(EMAIL_UNIQUE_INDEX, func.lower(users.c.email), unique=True)

# Trailing `id` lets the admin listing filter by role/activity and walk keyset pages in id
# order from the index alone; `lock_active_admin_ids` uses the same prefix.
Index("ix_users_role_is_active", users.c.role, users.c.is_active, users.c.id)


# A login session: one credential proof and every refresh token rotated from it. `amr` holds
# RFC 8176 method names separated by spaces; `client_ip` is the full address, not a /64.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("auth_time", DateTime(timezone=True), nullable=False),
    Column("amr", String(64), nullable=False),
    Column("client_ip", String(45), nullable=True),
    Column("user_agent", String(256), nullable=True),
)
Index("ix_sessions_user_id", sessions.c.user_id)

# Tokens are kept after use until their session ends: a spent token coming back is how reuse
# is detected. Only the SHA-256 of each token is stored.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column(
        "session_id",
        Uuid(),
        ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)
Index("ix_refresh_tokens_session_id", refresh_tokens.c.session_id)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)
Index("ix_api_keys_user_id", api_keys.c.user_id, api_keys.c.created_at)

# One TOTP factor per user, pending until confirmed. The secret is sealed (AES-GCM) by the
# service's key; recovery codes are SHA-256 digests in a JSON list; `last_used_step` refuses
# a code's second use, read under a row lock so workers agree.
totp_factors = Table(
    "totp_factors",
    metadata,
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("sealed_secret", LargeBinary(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    Column("last_used_step", BigInteger(), nullable=True),
    Column("recovery_codes", JSON(), nullable=False),
)

# What each `mfa_token` stands for, by its SHA-256 only; short-lived.
mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)
Index("ix_mfa_challenges_user_id", mfa_challenges.c.user_id)
Index("ix_mfa_challenges_expires_at", mfa_challenges.c.expires_at)

EXTERNAL_IDENTITY_KEYS = ("pk_external_identities", "external_identities.issuer")
"""How PostgreSQL and SQLite name a duplicate link in their errors."""

external_identities = Table(
    "external_identities",
    metadata,
    Column("issuer", String(255), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_external_identities_user_id", external_identities.c.user_id)

# No foreign keys: a deleted account's events keep its id. Each listing filter leads an index
# whose tail is the listing's order (occurred_at, id), so a filtered, time-bounded page is one
# index range read newest first; the time-only index also serves `purge-audit`.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("type", String(64), nullable=False),
    # An account's UUID (as text) or a client's id: whoever made the request.
    Column("actor_id", Text(), nullable=True),
    Column("subject_id", Uuid(), nullable=True),
    Column("client_ip", String(64), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("request_id", String(128), nullable=True),
    Column("details", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
)
Index("ix_audit_events_occurred_at", audit_events.c.occurred_at, audit_events.c.id)
Index(
    "ix_audit_events_actor_id",
    audit_events.c.actor_id,
    audit_events.c.occurred_at,
    audit_events.c.id,
)
Index(
    "ix_audit_events_subject_id",
    audit_events.c.subject_id,
    audit_events.c.occurred_at,
    audit_events.c.id,
)
Index("ix_audit_events_type", audit_events.c.type, audit_events.c.occurred_at, audit_events.c.id)


# Tokens mailed in links, by digest only. `email` is the address the link was sent to (for an
# email change, the new address). Lookups go by digest; invalidation by (user, purpose).
one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("email", String(254), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(
        "purpose IN ('verify_email', 'email_change', 'password_reset')", name="purpose"
    ),
)
Index("ix_one_time_tokens_user_id_purpose", one_time_tokens.c.user_id, one_time_tokens.c.purpose)


# Mail waiting to be sent, written with the change that causes it. A sender claims due rows
# (`next_attempt_at` passed, not sent) and records each attempt; `template_values` are erased
# once sent, since they may hold a one-time link.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("template_values", JSON(), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer(), nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(500), nullable=True),
)
Index("ix_mail_outbox_next_attempt_at", mail_outbox.c.next_attempt_at)


# Clients (service accounts): the public id, the SHA-256 of the secret, the scopes they hold
# (space-separated, RFC 6749 §3.3).
clients = Table(
    "clients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("scopes", String(255), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_clients_created_at", clients.c.created_at, clients.c.id)
# Managed signing keys: the public half as a JWK, the private half sealed (AES-GCM) by the
# service's key and erased once the key is retired. One generation per rotation.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("generation", Integer(), nullable=False, unique=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_jwk", JSON(), nullable=False),
    Column("sealed_private_key", LargeBinary(), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("signs_from", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)
