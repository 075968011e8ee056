"""The audit log on SQLAlchemy Core: append, list newest first, purge by age."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, delete, insert, select, tuple_, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import audit_events
from adapters.persistence.times import from_db_time, to_utc
from application.ports.persistence import AuditEventFilter, AuditLog
from domain.audit import (
    ActorId,
    AuditEvent,
    AuditEventId,
    AuditEventType,
    without_personal_data,
)
from domain.clients import ClientId, is_client_id
from domain.users import UserId


class SqlAlchemyAuditLog(AuditLog):
    """Events in `audit_events`, written in the session's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, event: AuditEvent) -> None:
        with translate_errors():
            await self._session.execute(
                insert(audit_events).values(
                    id=event.id,
                    occurred_at=to_utc(event.occurred_at),
                    type=event.type.value,
                    actor_id=str(event.actor_id) if event.actor_id is not None else None,
                    subject_id=event.subject_id,
                    client_ip=event.client_ip,
                    user_agent=event.user_agent,
                    request_id=event.request_id,
                    details=dict(event.details),
                )
            )

    async def list_page(self, query: AuditEventFilter) -> list[AuditEvent]:
        c = audit_events.c
        statement = (
            select(audit_events)
            .order_by(c.occurred_at.desc(), c.id.desc())
            .limit(max(query.limit, 0))
        )
        if query.before is not None:
            at, last_id = query.before
            # A row comparison, which Postgres turns into one bound on the (…, occurred_at, id)
            # index rather than a filter.
            statement = statement.where(tuple_(c.occurred_at, c.id) < tuple_(to_utc(at), last_id))
        if query.actor_id is not None:
            statement = statement.where(c.actor_id == str(query.actor_id))
        if query.subject_id is not None:
            statement = statement.where(c.subject_id == query.subject_id)
        if query.type is not None:
            statement = statement.where(c.type == query.type.value)
        if query.since is not None:
            statement = statement.where(c.occurred_at >= to_utc(query.since))
        if query.until is not None:
            statement = statement.where(c.occurred_at < to_utc(query.until))
        with translate_errors():
            result = await self._session.execute(statement)
            rows = result.mappings().all()
        return [event_from_row(row) for row in rows]

    async def purge_older_than(self, cutoff: datetime) -> int:
        with translate_errors():
            result = cast(
                CursorResult[Any],
                await self._session.execute(
                    delete(audit_events).where(audit_events.c.occurred_at < to_utc(cutoff))
                ),
            )
        return result.rowcount

    async def forget_personal_data(self, subject_id: UserId) -> int:
        c = audit_events.c
        with translate_errors():
            result = await self._session.execute(
                select(c.id, c.details).where(c.subject_id == subject_id)
            )
            changed = 0
            for event_id, details in result.all():
                kept = without_personal_data(details)
                if kept != details:
                    await self._session.execute(
                        update(audit_events).where(c.id == event_id).values(details=kept)
                    )
                    changed += 1
        return changed


def event_from_row(row: RowMapping | Mapping[str, Any]) -> AuditEvent:
    return AuditEvent(
        id=AuditEventId(row["id"]),
        occurred_at=from_db_time(row["occurred_at"]),
        type=AuditEventType(row["type"]),
        actor_id=actor_from_text(row["actor_id"]),
        subject_id=UserId(row["subject_id"]) if row["subject_id"] is not None else None,
        client_ip=row["client_ip"],
        user_agent=row["user_agent"],
        request_id=row["request_id"],
        details=row["details"],
    )


def actor_from_text(text: str | None) -> ActorId | None:
    """The stored actor: a client id as such, anything else an account's UUID."""
    if text is None:
        return None
    if is_client_id(text):
        return ClientId(text)
    return UserId(UUID(text))
