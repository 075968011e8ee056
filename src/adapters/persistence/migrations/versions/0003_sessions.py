"""Login sessions get their own name and what a user sees of them.

`refresh_token_families` becomes `sessions` (`revoked_at` becomes `ended_at`) with
`last_used_at`, `auth_time`, `amr`, `client_ip` and `user_agent`; `refresh_tokens.family_id`
becomes `session_id`. Existing sessions keep working: they count as password logins that
were last used, and proved their credential, when they started.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_SESSION_COLUMNS = (
    ("last_used_at", sa.DateTime(timezone=True)),
    ("auth_time", sa.DateTime(timezone=True)),
    ("amr", sa.String(64)),
)
_NEW_OPTIONAL_COLUMNS = (("client_ip", sa.String(45)), ("user_agent", sa.String(256)))
_COPY_TOKENS_UP = (
    "INSERT INTO refresh_tokens_rebuilt (id, session_id, user_id, digest, issued_at,"
    " expires_at, used_at) SELECT id, family_id, user_id, digest, issued_at, expires_at,"
    " used_at FROM refresh_tokens"
)
_COPY_TOKENS_DOWN = (
    "INSERT INTO refresh_tokens_rebuilt (id, family_id, user_id, digest, issued_at,"
    " expires_at, used_at) SELECT id, session_id, user_id, digest, issued_at, expires_at,"
    " used_at FROM refresh_tokens"
)


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Rename in place on PostgreSQL; rebuild by copy on SQLite, which cannot rename
    constraints."""
    if _is_sqlite():
        _create_sessions("sessions")
        op.execute(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ended_at,"
            " auth_time, amr) SELECT id, user_id, created_at, created_at, expires_at,"
            " revoked_at, created_at, 'pwd' FROM refresh_token_families"
        )
        _rebuild_refresh_tokens(
            new_parent="sessions",
            old_column="family_id",
            new_column="session_id",
        )
        op.drop_index("ix_refresh_token_families_user_id", table_name="refresh_token_families")
        op.drop_table("refresh_token_families")
        op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
        return
    op.rename_table("refresh_token_families", "sessions")
    _rename_constraint("sessions", "pk_refresh_token_families", "pk_sessions")
    _rename_constraint(
        "sessions", "fk_refresh_token_families_user_id_users", "fk_sessions_user_id_users"
    )
    op.execute("ALTER INDEX ix_refresh_token_families_user_id RENAME TO ix_sessions_user_id")
    op.alter_column("sessions", "revoked_at", new_column_name="ended_at")
    for name, type_ in _NEW_SESSION_COLUMNS:
        op.add_column("sessions", sa.Column(name, type_, nullable=True))
    for name, type_ in _NEW_OPTIONAL_COLUMNS:
        op.add_column("sessions", sa.Column(name, type_, nullable=True))
    op.execute("UPDATE sessions SET last_used_at = created_at, auth_time = created_at, amr = 'pwd'")
    for name, type_ in _NEW_SESSION_COLUMNS:
        op.alter_column("sessions", name, existing_type=type_, nullable=False)
    op.alter_column("refresh_tokens", "family_id", new_column_name="session_id")
    _rename_constraint(
        "refresh_tokens",
        "fk_refresh_tokens_family_id_refresh_token_families",
        "fk_refresh_tokens_session_id_sessions",
    )
    op.execute("ALTER INDEX ix_refresh_tokens_family_id RENAME TO ix_refresh_tokens_session_id")


def downgrade() -> None:
    """Back to refresh-token families; what a session recorded beyond them is dropped."""
    if _is_sqlite():
        op.create_table(
            "refresh_token_families",
            sa.Column("id", sa.Uuid(), nullable=False),
            sa.Column("user_id", sa.Uuid(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
                name="fk_refresh_token_families_user_id_users",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name="pk_refresh_token_families"),
        )
        op.execute(
            "INSERT INTO refresh_token_families (id, user_id, created_at, expires_at,"
            " revoked_at) SELECT id, user_id, created_at, expires_at, ended_at FROM sessions"
        )
        _rebuild_refresh_tokens(
            new_parent="refresh_token_families",
            old_column="session_id",
            new_column="family_id",
        )
        op.drop_index("ix_sessions_user_id", table_name="sessions")
        op.drop_table("sessions")
        op.create_index("ix_refresh_token_families_user_id", "refresh_token_families", ["user_id"])
        return
    op.execute("ALTER INDEX ix_refresh_tokens_session_id RENAME TO ix_refresh_tokens_family_id")
    _rename_constraint(
        "refresh_tokens",
        "fk_refresh_tokens_session_id_sessions",
        "fk_refresh_tokens_family_id_refresh_token_families",
    )
    op.alter_column("refresh_tokens", "session_id", new_column_name="family_id")
    for name, _ in _NEW_OPTIONAL_COLUMNS:
        op.drop_column("sessions", name)
    for name, _ in _NEW_SESSION_COLUMNS:
        op.drop_column("sessions", name)
    op.alter_column("sessions", "ended_at", new_column_name="revoked_at")
    op.execute("ALTER INDEX ix_sessions_user_id RENAME TO ix_refresh_token_families_user_id")
    _rename_constraint(
        "sessions", "fk_sessions_user_id_users", "fk_refresh_token_families_user_id_users"
    )
    _rename_constraint("sessions", "pk_sessions", "pk_refresh_token_families")
    op.rename_table("sessions", "refresh_token_families")


def _rename_constraint(table: str, old: str, new: str) -> None:
    op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {old} TO {new}")


def _create_sessions(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amr", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(256), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )


def _rebuild_refresh_tokens(*, new_parent: str, old_column: str, new_column: str) -> None:
    """SQLite: copy `refresh_tokens` into a table whose session column and foreign key carry
    their new names, then put it in the old one's place."""
    op.create_table(
        "refresh_tokens_rebuilt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(new_column, sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            [new_column],
            [f"{new_parent}.id"],
            name=f"fk_refresh_tokens_{new_column}_{new_parent}",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_refresh_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_tokens"),
        sa.UniqueConstraint("digest", name="uq_refresh_tokens_digest"),
    )
    op.execute(_COPY_TOKENS_UP if new_column == "session_id" else _COPY_TOKENS_DOWN)
    op.drop_index(f"ix_refresh_tokens_{old_column}", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.rename_table("refresh_tokens_rebuilt", "refresh_tokens")
    op.create_index(f"ix_refresh_tokens_{new_column}", "refresh_tokens", [new_column])
