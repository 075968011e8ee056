"""The relational schema, as SQLAlchemy Core tables; rows are mapped to domain objects by hand."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    func,
)

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
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer(), nullable=False),
    CheckConstraint("role IN ('user', 'admin')", name="role"),
)

# The database, not a read-then-insert in Python, is what keeps two racing registrations of
# "A@x.io" and "a@x.io" apart; a functional index is portable between SQLite and PostgreSQL.
Index(EMAIL_UNIQUE_INDEX, func.lower(users.c.email), unique=True)

# Trailing `id` lets the admin listing filter by role/activity and walk keyset pages in id
# order from the index alone; `lock_active_admin_ids` uses the same prefix.
Index("ix_users_role_is_active", users.c.role, users.c.is_active, users.c.id)
