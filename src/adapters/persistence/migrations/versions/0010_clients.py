"""Clients (service accounts) and audit actors that may be a client: `audit_events.actor_id`
becomes text holding an account's UUID or a client id.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite stores a `Uuid` as 32 hex digits; as text, an actor reads as PostgreSQL prints a UUID.
_SQLITE_HYPHENATED = (
    "lower(substr(actor_id, 1, 8) || '-' || substr(actor_id, 9, 4) || '-' || "
    "substr(actor_id, 13, 4) || '-' || substr(actor_id, 17, 4) || '-' || substr(actor_id, 21))"
)
_SQLITE_UNHYPHENATED = "lower(replace(actor_id, '-', ''))"
_UUID_TEXT = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def upgrade() -> None:
    """Create `clients`; turn `audit_events.actor_id` into text, keeping its index."""
    op.create_table(
        "clients",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_index("ix_clients_created_at", "clients", ["created_at", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_events",
            "actor_id",
            type_=sa.Text(),
            existing_type=sa.Uuid(),
            existing_nullable=True,
            postgresql_using="actor_id::text",
        )
        return
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column(
            "actor_id", type_=sa.Text(), existing_type=sa.Uuid(), existing_nullable=True
        )
    op.execute(
        f"UPDATE audit_events SET actor_id = {_SQLITE_HYPHENATED} "  # noqa: S608 - constants only
        "WHERE actor_id IS NOT NULL AND length(actor_id) = 32"
    )


def downgrade() -> None:
    """Drop `clients`; actors that were clients are forgotten (a UUID column cannot hold them)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text(
                "UPDATE audit_events SET actor_id = NULL "
                "WHERE actor_id IS NOT NULL AND actor_id !~ :uuid"
            ).bindparams(uuid=_UUID_TEXT)
        )
        op.alter_column(
            "audit_events",
            "actor_id",
            type_=sa.Uuid(),
            existing_type=sa.Text(),
            existing_nullable=True,
            postgresql_using="actor_id::uuid",
        )
    else:
        op.execute(
            "UPDATE audit_events SET actor_id = NULL "
            "WHERE actor_id IS NOT NULL AND length(actor_id) != 36"
        )
        op.execute(
            f"UPDATE audit_events SET actor_id = {_SQLITE_UNHYPHENATED} "  # noqa: S608 - constants only
            "WHERE actor_id IS NOT NULL"
        )
        with op.batch_alter_table("audit_events") as batch:
            batch.alter_column(
                "actor_id", type_=sa.Uuid(), existing_type=sa.Text(), existing_nullable=True
            )
    op.drop_index("ix_clients_created_at", table_name="clients")
    op.drop_table("clients")
