"""The audit log, for admins: read only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from application.use_cases.list_audit_events import ListAuditEvents, ListAuditEventsQuery
from domain.audit import ActorId, AuditEventType
from domain.clients import ClientId, is_client_id
from domain.users import UserId
from entrypoints.container import Container
from entrypoints.http.dependencies import AdminPrincipal
from entrypoints.http.openapi import ALWAYS, AUTHENTICATED, problem_responses
from entrypoints.http.provided import provided
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import (
    ActorIdField,
    AuditEventPageResponse,
    AuditEventResponse,
    RequestDateTime,
)

router = APIRouter(prefix=f"{API_PREFIX}/audit-events", tags=["audit"])


@router.get(
    "",
    operation_id="list_audit_events",
    summary="List audit events (admin)",
    description="Newest first, keyset pagination as `GET /users`: pass `next_cursor` back as "
    "`cursor` (with the same filters) until it is `null`. Filters combine: `actor_id` made the "
    "request, `subject_id` is the account an event is about, `type` is one event type, "
    "`since` (inclusive) and `until` (exclusive) are RFC 3339 date-times (a `since` not before "
    "`until` is an empty interval: no events). A malformed id, type or time is a 422 "
    "`validation_failed` naming the parameter. Events cannot be changed or deleted through "
    "the API.",
    response_model=AuditEventPageResponse,
    responses=problem_responses(*AUTHENTICATED, "forbidden", "validation_failed", *ALWAYS),
)
async def list_audit_events(
    *,
    principal: AdminPrincipal,
    list_audit_events: Annotated[ListAuditEvents, Depends(provided(Container.list_audit_events))],
    actor_id: Annotated[
        ActorIdField | None,
        Query(description="Events of requests this account (a UUID) or client (`cli_…`) made."),
    ] = None,
    subject_id: Annotated[UUID | None, Query(description="Events about this account.")] = None,
    type: Annotated[AuditEventType | None, Query(description="Events of this one type.")] = None,
    since: Annotated[
        RequestDateTime | None,
        Query(description="Events at or after this instant.", examples=["2026-12-01T00:00:00Z"]),
    ] = None,
    until: Annotated[
        RequestDateTime | None,
        Query(description="Events before this instant.", examples=["2026-12-02T00:00:00Z"]),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditEventPageResponse:
    page = await list_audit_events.execute(
        ListAuditEventsQuery(
            principal=principal,
            limit=limit,
            cursor=cursor,
            actor_id=_actor(actor_id),
            subject_id=UserId(subject_id) if subject_id is not None else None,
            type=type,
            since=since,
            until=until,
        )
    )
    return AuditEventPageResponse(
        items=[AuditEventResponse.of(event) for event in page.items],
        next_cursor=page.next_cursor,
    )


def _actor(actor_id: str | None) -> ActorId | None:
    if actor_id is None:
        return None
    if is_client_id(actor_id):
        return ClientId(actor_id)
    return UserId(UUID(actor_id))
