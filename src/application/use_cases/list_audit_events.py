"""List audit events for admins, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.pagination import (
    DEFAULT_PAGE_SIZE,
    Listing,
    Page,
    check_page_size,
    decode_time_cursor,
    page_by_time,
)
from application.ports import AuditEventFilter, UnitOfWorkFactory
from application.principal import Principal
from domain.audit import ActorId, AuditEvent, AuditEventId, AuditEventType
from domain.users import UserId


@dataclass(frozen=True, slots=True)
class ListAuditEventsQuery:
    principal: Principal
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    actor_id: ActorId | None = None
    subject_id: UserId | None = None
    type: AuditEventType | None = None
    since: datetime | None = None
    until: datetime | None = None


class ListAuditEvents:
    """Keyset pagination on (occurred_at, id), newest first: stable while events are added."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListAuditEventsQuery) -> Page[AuditEvent]:
        query.principal.ensure_admin()
        check_page_size(query.limit)
        if query.since is not None and query.until is not None and query.since >= query.until:
            # An empty interval: nothing can fall in it, and the schema cannot forbid it.
            return Page([], None)
        before = None
        if query.cursor:
            at, last_id = decode_time_cursor(Listing.AUDIT_EVENTS, query.cursor)
            before = (at, AuditEventId(last_id))
        async with self._uow() as uow:
            events = await uow.audit.list_page(
                AuditEventFilter(
                    limit=query.limit + 1,
                    before=before,
                    actor_id=query.actor_id,
                    subject_id=query.subject_id,
                    type=query.type,
                    since=query.since,
                    until=query.until,
                )
            )
        return page_by_time(Listing.AUDIT_EVENTS, events, query.limit)
